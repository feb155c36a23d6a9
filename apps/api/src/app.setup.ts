import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { SUBMISSION_RULES } from './batches/submission/submission-rules.provider';
import type { SubmissionRules } from './batches/submission/submission';
import { ErrorFilter } from './common/error.filter';
import { addRequestSchemas } from './batches/submission/openapi-schemas';
import type { HttpRequest } from './common/http';
import { configureHttpServer } from './common/http-server';
import { refuseDeepJson } from './common/json-depth';
import { refuseUnstorableText } from './batches/submission/storable-request';
import { PinoNestLogger } from './common/logger';
import { requestContext } from './common/request-context';
import { MetricsService } from './metrics/metrics.service';
import { mountDashboard } from './ui/dashboard-static';
import { mountQueueBoard } from './ui/queue-board';

/** Small JSON bodies (admin routes). Batch uploads are read by their route, after auth. */
const SMALL_JSON_LIMIT = '1mb';

/** A batch upload: its body is streamed by the route itself (size cap, JSON or JSONL, hashing). */
export const isBatchUpload = (req: HttpRequest): boolean =>
  req.method === 'POST' && /^\/v1\/batches\/?(\?|$)/.test(req.url ?? '');

/**
 * Everything around the routes, shared by main.ts and the e2e tests: JSON logs with request
 * ids, metrics, body parsing, the error format, OpenAPI at /docs. The app must be created with
 * `{ bodyParser: false }`.
 */
export function configureApp(app: INestApplication, config: Config, logger: Logger): void {
  const express = app as NestExpressApplication;
  express.useLogger(new PinoNestLogger(logger));
  express.use(requestContext(logger, app.get(MetricsService)));
  express.useBodyParser('json', {
    limit: SMALL_JSON_LIMIT,
    type: (req: HttpRequest) =>
      !isBatchUpload(req) && /^application\/(.+\+)?json\b/i.test(req.headers['content-type'] ?? ''),
    // before JSON.parse: a deep body is refused in one scan, not parsed and then walked
    verify: (_req: HttpRequest, _res: unknown, body: Buffer) =>
      refuseDeepJson(body, config.JSON_MAX_DEPTH),
  });
  express.use(refuseUnstorableText());
  configureHttpServer(express.getHttpServer(), config, logger);
  express.useGlobalFilters(new ErrorFilter());
  express.disable('x-powered-by');
  mountDashboard(express, config);
  mountQueueBoard(express);
  express.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('dllm-batch')
      .setDescription(
        'Bulk text generation with diffusion language models. Every route but health and metrics needs ' +
          '`Authorization: Bearer <api key>`; errors are `{error: {code, message, details?}}`. ' +
          `Batches hold up to ${config.MAX_BATCH_ITEMS} items.`,
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  addRequestSchemas(document, app.get<SubmissionRules>(SUBMISSION_RULES));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
}
