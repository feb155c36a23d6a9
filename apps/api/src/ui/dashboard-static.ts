import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Config } from '@dllm/shared';
import type { HttpRequest, HttpResponse } from '../common/http';

/** The dashboard's path; its API calls go to /v1 with the key the user signed in with. */
export const DASHBOARD_PATH = '/ui';

/**
 * Only this origin: the page loads no asset from anywhere else and talks only to this API.
 * 'unsafe-inline' styles: the chart library sizes its elements with style attributes.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Serves the built dashboard (DASHBOARD_DIR, made by `npm run build:web`) as static files at /ui.
 * Without a build, /ui answers 503 saying how to make one rather than a bare 404.
 */
export function mountDashboard(app: NestExpressApplication, config: Config): void {
  const dir = resolve(config.DASHBOARD_DIR);
  const built = existsSync(join(dir, 'index.html'));
  const headers = (res: HttpResponse, path?: string): void => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // The HTML shell always revalidates so a new build shows at once; assets may be cached briefly.
    res.setHeader('Cache-Control', path?.endsWith('.html') ? 'no-cache' : 'public, max-age=300');
  };
  if (built) {
    app.useStaticAssets(dir, { prefix: DASHBOARD_PATH, index: 'index.html', setHeaders: headers });
    return;
  }
  app.use(DASHBOARD_PATH, (_req: HttpRequest, res: HttpResponse) => {
    res.statusCode = 503;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(
      JSON.stringify({
        error: {
          code: 'dashboard_not_built',
          message: `the dashboard is not built: no index.html in ${dir} (run npm run build:web, or set DASHBOARD_DIR)`,
        },
      }),
    );
  });
}
