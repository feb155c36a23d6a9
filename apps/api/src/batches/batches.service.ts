import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BatchProgressRepository,
  CANCEL_CHANNEL,
  isTerminalBatchStatus,
  pgErrorCode,
  UNIQUE_VIOLATION,
  type BatchEntity,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';
import type { HttpRequest } from '../common/http';
import { decodeUtf8, mediaType, readBody } from '../common/read-body';
import { parseUuid } from '../common/uuid';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS } from '../redis/redis.module';
import { batchView, itemView, type BatchView } from './batch-view';
import { BatchesRepository } from './batches.repository';
import { ChunkEnqueuer } from './chunk-enqueuer';
import { encodeCursor, parseHistoryQuery, parseItemsQuery, parseJsonlQuery } from './list-query';
import { parseJsonSubmission } from './submission/json-submission';
import { parseJsonlSubmission } from './submission/jsonl-submission';
import { assertStorableJson, assertStorableJsonl } from './submission/storable-text';
import { SUBMISSION_RULES } from './submission/submission-rules.provider';
import type { Submission, SubmissionRules } from './submission/submission';

export const JSON_TYPES = new Set(['application/json']);
export const JSONL_TYPES = new Set([
  'application/x-ndjson',
  'application/jsonl',
  'application/x-jsonlines',
]);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface SubmitResult {
  batch: BatchView;
  /** false when an Idempotency-Key replay returned the batch made earlier */
  created: boolean;
}

/** The rules of batches: submission, reads scoped to the caller's tenant, cancel. */
@Injectable()
export class BatchesService {
  constructor(
    private readonly batches: BatchesRepository,
    private readonly progress: BatchProgressRepository,
    private readonly enqueuer: ChunkEnqueuer,
    private readonly metrics: MetricsService,
    @Inject(SUBMISSION_RULES) private readonly rules: SubmissionRules,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Validates the whole body, then inserts the batch and its items in one transaction, then
   * enqueues its chunks. An enqueue failure does not fail the request: the batch is committed
   * and the reconciler enqueues it.
   */
  async submit(
    principal: Principal,
    req: HttpRequest,
    idempotencyKey: string | undefined,
  ): Promise<SubmitResult> {
    const kind = bodyKind(req);
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw ApiError.badRequest(
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 255 visible ASCII characters',
      );
    }
    const jsonlQuery = kind === 'jsonl' ? parseJsonlQuery(req.query) : undefined;
    if (kind === 'json' && Object.keys(req.query).length > 0) {
      throw ApiError.badRequest(
        'invalid_query',
        `a JSON body carries its own options; unexpected query parameter ${Object.keys(req.query)[0]}`,
      );
    }
    const body = await readBody(req, this.config.API_BODY_LIMIT_MB * 2 ** 20);
    const requestHash = createHash('sha256')
      .update(`${kind}\n${JSON.stringify(jsonlQuery ?? {})}\n`)
      .update(body)
      .digest('hex');
    if (idempotencyKey !== undefined) {
      const earlier = await this.batches.findByIdempotencyKey(principal.tenant, idempotencyKey);
      if (earlier) return this.replay(earlier, idempotencyKey, requestHash);
    }

    const started = performance.now();
    const text = decodeUtf8(body);
    let submission: Submission;
    try {
      if (kind === 'json') {
        const body = parseJsonBody(text);
        assertStorableJson(text, body); // NUL and lone surrogates: 400 by item and field
        submission = parseJsonSubmission(body, this.rules);
      } else {
        assertStorableJsonl(text);
        submission = parseJsonlSubmission(text, jsonlQuery!, this.rules);
      }
    } catch (error) {
      this.metrics.batchesRejected.inc();
      throw error;
    }

    const validated = performance.now();
    let batch: BatchEntity;
    try {
      batch = await this.batches.insert(
        {
          id: randomUUID(),
          tenant: principal.tenant,
          apiKeyId: principal.apiKeyId,
          model: submission.model,
          params: submission.params,
          metadata: submission.metadata,
          completionWindow: submission.completionWindow,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: idempotencyKey !== undefined ? requestHash : null,
        },
        submission.items,
      );
    } catch (error) {
      // A concurrent request with the same Idempotency-Key committed first.
      if (idempotencyKey !== undefined && pgErrorCode(error) === UNIQUE_VIOLATION) {
        const winner = await this.batches.findByIdempotencyKey(principal.tenant, idempotencyKey);
        if (winner) return this.replay(winner, idempotencyKey, requestHash);
      }
      throw error;
    }
    const inserted = performance.now();
    this.metrics.batchesAccepted.inc();
    this.metrics.itemsAccepted.inc(batch.totalCount);

    if (await this.enqueuer.enqueue(batch.id, batch.totalCount)) {
      batch = (await this.batches.findOwned(batch.id, principal.tenant)) ?? batch;
    }
    req.log?.info(
      {
        batch_id: batch.id,
        items: batch.totalCount,
        tenant: principal.tenant,
        validate_ms: Math.round(validated - started),
        insert_ms: Math.round(inserted - validated),
        enqueue_ms: Math.round(performance.now() - inserted),
      },
      'batch accepted',
    );
    return { batch: batchView(batch), created: true };
  }

  async get(principal: Principal, id: string): Promise<BatchView> {
    return batchView(await this.owned(principal, id));
  }

  /** History: newest first, keyset pages. */
  async history(principal: Principal, query: Record<string, unknown>) {
    const { filter, limit } = parseHistoryQuery(query);
    const rows = await this.batches.history(principal.tenant, filter, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const hasMore = rows.length > limit;
    return {
      object: 'list' as const,
      data: page.map((b) => batchView(b)),
      has_more: hasMore,
      next_cursor: hasMore && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }

  async items(principal: Principal, id: string, query: Record<string, unknown>) {
    const batch = await this.owned(principal, id);
    const options = parseItemsQuery(query);
    const rows = await this.batches.itemsPage(batch.id, { ...options, limit: options.limit + 1 });
    const page = rows.slice(0, options.limit);
    const hasMore = rows.length > options.limit;
    return {
      object: 'list' as const,
      data: page.map(itemView),
      has_more: hasMore,
      next_after: hasMore ? page[page.length - 1]!.index : null,
    };
  }

  /**
   * Queued items end as cancelled now; running ones stop at the worker's next step (it sees
   * the batch status, and the notice on CANCEL_CHANNEL). Cancelling twice is a no-op.
   */
  async cancel(principal: Principal, id: string): Promise<BatchView> {
    const batch = await this.owned(principal, id);
    if (batch.status === 'cancelling' || batch.status === 'cancelled') return batchView(batch);
    if (isTerminalBatchStatus(batch.status)) {
      throw ApiError.conflict(
        'batch_not_cancellable',
        `batch ${batch.id} is already ${batch.status}; only queued or in-progress batches can be cancelled`,
      );
    }
    const after = await this.progress.cancelBatch(batch.id);
    if (after?.status === 'cancelling') {
      await this.redis.publish(CANCEL_CHANNEL, batch.id).catch((error: unknown) => {
        // Workers also poll the batch status, so a lost notice only delays the stop.
        this.logger.warn(
          { err: loggableError(error), batch_id: batch.id },
          'cancel notice not published',
        );
      });
    }
    return batchView((await this.batches.findOwned(batch.id, principal.tenant)) ?? batch);
  }

  /** The caller's batch, or 404 (also for another tenant's batch: its existence is not revealed). */
  async owned(principal: Principal, id: string): Promise<BatchEntity> {
    const batch = await this.batches.findOwned(parseUuid(id, 'batch id'), principal.tenant);
    if (!batch) throw ApiError.notFound(`batch ${id} not found`);
    return batch;
  }

  private replay(earlier: BatchEntity, key: string, requestHash: string): SubmitResult {
    if (earlier.requestHash !== requestHash) {
      throw ApiError.conflict(
        'idempotency_key_reused',
        `Idempotency-Key ${JSON.stringify(key)} was already used for a different request (batch ${earlier.id}); ` +
          'send the identical request to get that batch, or use a new key for a new batch',
      );
    }
    return { batch: batchView(earlier), created: false };
  }
}

function bodyKind(req: HttpRequest): 'json' | 'jsonl' {
  const { type, charset } = mediaType(req);
  const expected =
    'send application/json (items inline) or application/x-ndjson (OpenAI batch lines)';
  if (type === undefined)
    throw new ApiError(415, 'unsupported_media_type', `missing Content-Type: ${expected}`);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `charset ${charset} is not supported; send UTF-8`,
    );
  }
  if (JSON_TYPES.has(type)) return 'json';
  if (JSONL_TYPES.has(type)) return 'jsonl';
  throw new ApiError(
    415,
    'unsupported_media_type',
    `Content-Type ${type} is not accepted: ${expected}`,
  );
}

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw ApiError.badRequest(
      'invalid_json',
      `the body is not valid JSON: ${(error as Error).message}`,
    );
  }
}
