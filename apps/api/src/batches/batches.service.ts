import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BatchProgressRepository,
  CANCEL_CHANNEL,
  canvasesExpireAt,
  resultsExpireAt,
  isTerminalBatchStatus,
  pgErrorCode,
  UNIQUE_VIOLATION,
  type BatchEntity,
  type BatchOrigin,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { CONFIG, LOGGER } from '../common/core.module';
import { FreshReadCoalescer } from '../common/fresh-read-coalescer';
import { loggableError } from '../common/logger';
import { parseUuid } from '../common/uuid';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS } from '../redis/redis.module';
import { BatchPresenter, type BatchViewChoice, type PresentedBatch } from './batch-presenter';
import type { BatchRequest } from './batch-request';
import { itemView } from './batch-view';
import { BatchesRepository } from './batches.repository';
import { ChunkEnqueuer } from './chunk-enqueuer';
import { storageQuotaOf } from './storage-quota';
import { encodeCursor, parseHistoryQuery, parseItemsQuery } from './list-query';
import { parseJsonSubmission } from './submission/json-submission';
import { parseJsonlSubmission } from './submission/jsonl-submission';
import { assertStorableJson, assertStorableJsonl } from './submission/storable-text';
import { SUBMISSION_RULES } from './submission/submission-rules.provider';
import type { Submission, SubmissionRules } from './submission/submission';

export interface SubmitResult {
  batch: BatchEntity;
  /** false when an Idempotency-Key replay returned the batch made earlier */
  created: boolean;
  /** its work is in the queue (false: left to the reconciler, e.g. Redis away) */
  enqueued?: boolean;
}

/** How a validated submission is stored and queued (the door it came through decides). */
export interface AcceptOptions {
  /** the id to give the batch (interactive requests subscribe to it before it runs) */
  id?: string;
  origin?: BatchOrigin;
  inputFileId?: string | null;
  idempotencyKey?: string;
  requestHash?: string;
  /** queues the committed batch; default: its chunk jobs. false leaves it to the reconciler */
  enqueue?: (batch: BatchEntity) => Promise<boolean>;
}

/** The rules of batches: submission, reads scoped to the caller's tenant, cancel. */
@Injectable()
export class BatchesService {
  /** status polls of one batch share a Postgres read (each answer still postdates its request) */
  private readonly statusReads = new FreshReadCoalescer<BatchEntity | null>();

  constructor(
    private readonly batches: BatchesRepository,
    private readonly progress: BatchProgressRepository,
    private readonly enqueuer: ChunkEnqueuer,
    private readonly metrics: MetricsService,
    private readonly presenter: BatchPresenter,
    @Inject(SUBMISSION_RULES) private readonly rules: SubmissionRules,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /**
   * Validates the whole request (already read by the controller), then stores and queues it.
   * A repeated Idempotency-Key returns the batch made earlier (or 409 for another request).
   */
  async submit(
    principal: Principal,
    request: BatchRequest,
    idempotencyKey: string | undefined,
    log?: Logger,
  ): Promise<SubmitResult> {
    return this.submitParsed(
      principal,
      request.hash,
      idempotencyKey,
      { origin: 'native' },
      log,
      () => {
        // NUL and lone surrogates cannot be stored: 400 by item (or line) and field
        if (request.kind === 'json') {
          assertStorableJson(request.text, request.body);
          return parseJsonSubmission(request.body, this.rules);
        }
        assertStorableJsonl(request.text, this.rules.maxJsonDepth);
        return parseJsonlSubmission(request.text, request.options, this.rules);
      },
    );
  }

  /**
   * The submit path of any door: an Idempotency-Key replay returns the earlier batch (409 for a
   * different request), else `parse` validates (refusals counted) and the batch is accepted.
   */
  async submitParsed(
    principal: Principal,
    requestHash: string,
    idempotencyKey: string | undefined,
    options: Omit<AcceptOptions, 'idempotencyKey' | 'requestHash'>,
    log: Logger | undefined,
    parse: () => Submission | Promise<Submission>,
  ): Promise<SubmitResult> {
    if (idempotencyKey !== undefined) {
      const earlier = await this.batches.findByIdempotencyKey(principal.tenant, idempotencyKey);
      if (earlier) return this.replay(earlier, idempotencyKey, requestHash);
    }
    const started = performance.now();
    let submission: Submission;
    try {
      submission = await parse();
    } catch (error) {
      this.metrics.batchesRejected.inc();
      throw error;
    }
    return this.accept(
      principal,
      submission,
      { ...options, idempotencyKey, requestHash },
      log,
      started,
    );
  }

  /**
   * Inserts the batch and its items in one transaction, then enqueues it. An enqueue failure
   * does not fail the request: the batch is committed and the reconciler enqueues it.
   */
  async accept(
    principal: Principal,
    submission: Submission,
    options: AcceptOptions,
    log?: Logger,
    started = performance.now(),
  ): Promise<SubmitResult> {
    const { idempotencyKey, requestHash } = options;
    const validated = performance.now();
    let batch: BatchEntity;
    try {
      batch = await this.batches.insert(
        {
          id: options.id ?? randomUUID(),
          tenant: principal.tenant,
          apiKeyId: principal.apiKeyId,
          model: submission.model,
          params: submission.params,
          metadata: submission.metadata,
          completionWindow: submission.completionWindow,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: idempotencyKey !== undefined ? (requestHash ?? null) : null,
          origin: options.origin ?? 'native',
          endpoint: submission.endpoint,
          inputFileId: options.inputFileId ?? null,
          webhookUrl: submission.webhookUrl,
          canvasItems: submission.items.filter((i) => (i.params.intermediate_every ?? 0) > 0)
            .length,
        },
        submission.items,
        // a sync completion is one item, bounded by MAX_CONCURRENT_COMPLETIONS instead
        options.origin === 'interactive' ? undefined : storageQuotaOf(this.config),
      );
    } catch (error) {
      // A concurrent request with the same Idempotency-Key committed first.
      if (idempotencyKey !== undefined && pgErrorCode(error) === UNIQUE_VIOLATION) {
        const winner = await this.batches.findByIdempotencyKey(principal.tenant, idempotencyKey);
        if (winner) return this.replay(winner, idempotencyKey, requestHash ?? '');
      }
      throw error;
    }
    const inserted = performance.now();
    this.metrics.batchesAccepted.inc();
    this.metrics.itemsAccepted.inc(batch.totalCount);

    const enqueue = options.enqueue ?? ((b: BatchEntity) => this.enqueuer.enqueue(b));
    const enqueued = await enqueue(batch);
    // a sync completion needs only its id and creation time back: no re-read on its path
    if (enqueued && options.origin !== 'interactive') {
      batch = (await this.batches.findOwned(batch.id, principal.tenant)) ?? batch;
    }
    log?.info(
      {
        batch_id: batch.id,
        origin: batch.origin,
        items: batch.totalCount,
        tenant: principal.tenant,
        validate_ms: Math.round(validated - started),
        insert_ms: Math.round(inserted - validated),
        enqueue_ms: Math.round(performance.now() - inserted),
      },
      'batch accepted',
    );
    return { batch, created: true, enqueued };
  }

  async get(
    principal: Principal,
    id: string,
    view: BatchViewChoice = 'by-origin',
  ): Promise<PresentedBatch> {
    return this.presenter.present(await this.owned(principal, id, this.statusReads), view);
  }

  /** History: newest first, keyset pages. */
  async history(principal: Principal, query: Record<string, unknown>) {
    const { filter, limit, after, view } = parseHistoryQuery(query);
    if (after !== undefined) {
      // OpenAI's cursor: the id of the last batch seen
      const seen = await this.owned(principal, after);
      filter.before = { createdAt: seen.createdAt, id: seen.id };
    }
    const rows = await this.batches.history(principal.tenant, filter, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const hasMore = rows.length > limit;
    return {
      object: 'list' as const,
      data: await Promise.all(page.map((b) => this.presenter.present(b, view))),
      has_more: hasMore,
      next_cursor: hasMore && last ? encodeCursor(last.createdAt, last.id) : null,
      first_id: page[0]?.id ?? null,
      last_id: last?.id ?? null,
    };
  }

  async items(principal: Principal, id: string, query: Record<string, unknown>) {
    const batch = await this.withResults(principal, id);
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
  async cancel(
    principal: Principal,
    id: string,
    view: BatchViewChoice = 'by-origin',
  ): Promise<PresentedBatch> {
    const batch = await this.owned(principal, id);
    if (batch.status === 'cancelling' || batch.status === 'cancelled') {
      return this.presenter.present(batch, view);
    }
    if (isTerminalBatchStatus(batch.status)) {
      throw ApiError.conflict(
        'batch_not_cancellable',
        `batch ${batch.id} is already ${batch.status}; only queued or in-progress batches can be cancelled`,
      );
    }
    await this.stop(batch.id);
    return this.presenter.present(
      (await this.batches.findOwned(batch.id, principal.tenant)) ?? batch,
      view,
    );
  }

  /** Cancels a batch by id (no ownership check: for the API's own use, e.g. a client gone). */
  async stop(batchId: string): Promise<void> {
    const after = await this.progress.cancelBatch(batchId);
    if (after?.status === 'cancelling') {
      await this.redis.publish(CANCEL_CHANNEL, batchId).catch((error: unknown) => {
        // Workers also poll the batch status, so a lost notice only delays the stop.
        this.logger.warn(
          { err: loggableError(error), batch_id: batchId },
          'cancel notice not published',
        );
      });
    }
  }

  /**
   * The caller's batch, or 404 (also for another tenant's batch: its existence is not revealed).
   * With `shared`, the answer is read-only and may be shared with concurrent callers (status polls).
   */
  async owned(
    principal: Principal,
    id: string,
    shared?: FreshReadCoalescer<BatchEntity | null>,
  ): Promise<BatchEntity> {
    const batchId = parseUuid(id, 'batch id');
    const find = () => this.batches.findOwned(batchId, principal.tenant);
    const batch = await (shared
      ? shared.read(`${principal.tenant}\u0000${batchId}`, find)
      : find());
    if (!batch) throw ApiError.notFound(`batch ${id} not found`);
    return batch;
  }

  /**
   * The caller's batch whose results are still kept, or 410 once RESULT_RETENTION_S has passed
   * since it ended (whether or not the cleanup job has deleted them yet).
   */
  async withResults(principal: Principal, id: string): Promise<BatchEntity> {
    const batch = await this.owned(principal, id);
    const expires = resultsExpireAt(batch, this.config.RESULT_RETENTION_S);
    if (batch.resultsPurgedAt !== null || (expires !== null && expires <= new Date())) {
      const at = (expires ?? batch.resultsPurgedAt)!.toISOString();
      throw new ApiError(
        410,
        'results_expired',
        `the results of batch ${batch.id} expired at ${at} (kept RESULT_RETENTION_S = ` +
          `${this.config.RESULT_RETENTION_S} s after the batch ended); the batch's counts remain at GET /v1/batches/${batch.id}`,
      );
    }
    return batch;
  }

  /** The caller's batch whose canvases are still kept, or 410 once CANVAS_RETENTION_S has passed since it ended. */
  async withCanvases(principal: Principal, id: string): Promise<BatchEntity> {
    const batch = await this.owned(principal, id);
    const expires = canvasesExpireAt(batch, this.config.CANVAS_RETENTION_S);
    if (batch.resultsPurgedAt !== null || (expires !== null && expires <= new Date())) {
      throw new ApiError(
        410,
        'canvases_expired',
        `the canvases of batch ${batch.id} expired at ${(expires ?? batch.resultsPurgedAt)!.toISOString()} ` +
          `(kept CANVAS_RETENTION_S = ${this.config.CANVAS_RETENTION_S} s after the batch ended)`,
      );
    }
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
    return { batch: earlier, created: false };
  }
}
