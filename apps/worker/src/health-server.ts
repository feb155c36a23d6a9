import { createServer, type Server } from 'node:http';
import type { WorkerMetrics } from './metrics';

export interface HealthChecks {
  /** name -> check; each throws (or rejects) when its dependency is unreachable */
  [name: string]: () => Promise<unknown>;
}

/** Rejects when `work` has not settled within `ms`: a probe never waits on a hung dependency. */
export function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The worker's only HTTP surface: /healthz (the process runs), /readyz (engine loaded, Redis and
 * Postgres reachable), /metrics (Prometheus). No public API lives here. Every check and the
 * metrics refresh run under `probeTimeoutMs`, so neither route ever hangs on a dead dependency.
 */
export function startHealthServer(
  { port, host }: { port: number; host: string },
  checks: HealthChecks,
  metrics: WorkerMetrics,
  /** extra facts for /readyz (e.g. which execution provider the engine runs on) */
  details: () => Record<string, unknown>,
  refresh: () => Promise<void>,
  probeTimeoutMs: number,
): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    void (async () => {
      if (req.url === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
      if (req.url === '/readyz') {
        const results = await Promise.all(
          Object.entries(checks).map(async ([name, check]) => {
            try {
              await within(probeTimeoutMs, name, check);
              return [name, 'ok'] as const;
            } catch (err) {
              return [name, (err as Error).message] as const;
            }
          }),
        );
        const failed = results.filter(([, r]) => r !== 'ok');
        return send(
          failed.length ? 503 : 200,
          JSON.stringify({
            status: failed.length ? 'unavailable' : 'ok',
            checks: Object.fromEntries(results),
            ...details(),
          }),
        );
      }
      if (req.url === '/metrics') {
        // stale engine gauges beat no metrics at all: a failed refresh still serves the rest
        await within(probeTimeoutMs, 'metrics refresh', refresh).catch(() => undefined);
        return send(200, await metrics.registry.metrics(), metrics.registry.contentType);
      }
      send(404, JSON.stringify({ error: { code: 'not_found', message: `no route ${req.url}` } }));
    })().catch((err: Error) =>
      send(500, JSON.stringify({ error: { code: 'internal', message: err.message } })),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
