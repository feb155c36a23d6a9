import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';

/** The HTTP metrics a request reports (MetricsService has them; common/ does not import it). */
interface HttpMetrics {
  httpRequests: Pick<Counter<'method' | 'route' | 'status'>, 'inc'>;
  httpDuration: Pick<Histogram<'method' | 'route'>, 'observe'>;
}
import type { HttpRequest, HttpResponse } from './http';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * First middleware of every request: a request id (the caller's X-Request-Id when sane), a
 * child logger carrying it, and on completion one access-log line plus the HTTP metrics.
 */
export function requestContext(logger: Logger, metrics: HttpMetrics) {
  return (req: HttpRequest, res: HttpResponse, next: () => void): void => {
    const given = req.headers['x-request-id'];
    req.id = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    req.log = logger.child({ req_id: req.id });
    res.setHeader('X-Request-Id', req.id);
    const start = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // The route pattern, not the path, keeps the label set small (ids stay out of it).
      const route = req.route?.path ?? 'unmatched';
      const method = req.method ?? 'GET';
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method, route }, seconds);
      req.log.info(
        {
          method,
          url: req.originalUrl ?? req.url,
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1e4) / 10,
          tenant: req.principal?.tenant,
          aborted: !res.writableFinished || undefined,
        },
        'request',
      );
    });
    next();
  };
}
