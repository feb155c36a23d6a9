import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bullmq';
import { ApiKeysService } from '../auth/api-keys.service';
import { ApiError } from '../common/api-error';
import type { HttpRequest, HttpResponse } from '../common/http';
import type { ChunkQueues } from '@dllm/shared';
import { MODEL_CATALOG, type ModelCatalog } from '../model/served-model';
import { InteractiveEnqueuer } from '../openai/interactive-enqueuer';
import { CHUNK_QUEUES } from '../redis/redis.module';
import { WEBHOOK_QUEUE_TOKEN } from '../webhooks/webhook-dispatcher';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Bull Board's page links a web font from a CDN; this policy keeps the browser on this origin
 * (the page falls back to system fonts). Its inline bootstrap script and styles need 'unsafe-inline'.
 */
const BOARD_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/**
 * The admin key from `Authorization: Bearer <key>` (scripts) or HTTP Basic with the key as the
 * password (a browser asks for it once and keeps it for the session).
 */
export function adminKeyOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/** Bull Board (jobs of every model's chunk queue: waiting, active, failed, ...) at /admin/queues, admin key only. */
export function mountQueueBoard(app: NestExpressApplication): void {
  const keys = app.get(ApiKeysService);
  const board = new ExpressAdapter();
  board.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    // every queue of the queue table (QUEUES): each model's chunks and interactive queue, webhooks
    queues: [
      ...app
        .get<ModelCatalog>(MODEL_CATALOG)
        .flatMap((m) => [
          app.get<ChunkQueues>(CHUNK_QUEUES).for(m.name),
          app.get(InteractiveEnqueuer).queueFor(m.name),
        ]),
      app.get<Queue>(WEBHOOK_QUEUE_TOKEN),
    ].map((queue) => new BullMQAdapter(queue)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'dllm-batch queues' } },
  });

  const adminOnly = (req: HttpRequest, res: HttpResponse, next: () => void): void => {
    const key = adminKeyOf(req.headers.authorization);
    let error: ApiError | undefined;
    try {
      if (key === undefined)
        error = ApiError.unauthorized('the queue board needs the admin API key');
      else if (!keys.isAdminKey(key))
        error = ApiError.unauthorized('this route needs the admin API key');
    } catch (e) {
      error = e as ApiError; // the admin API is disabled
    }
    if (!error) {
      res.setHeader('Content-Security-Policy', BOARD_CONTENT_SECURITY_POLICY);
      return next();
    }
    res.statusCode = error.status;
    res.setHeader('WWW-Authenticate', 'Basic realm="dllm-batch admin", charset="UTF-8"');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(error.toBody()));
  };
  app.use(QUEUE_BOARD_PATH, adminOnly, board.getRouter());
}
