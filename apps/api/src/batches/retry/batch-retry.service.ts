import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  isTerminalBatchStatus,
  pgErrorCode,
  UNIQUE_VIOLATION,
  type BatchEntity,
  type Config,
} from '@dllm/shared';
import type { Principal } from '../../auth/principal';
import { ApiError } from '../../common/api-error';
import { CONFIG } from '../../common/core.module';
import { MetricsService } from '../../metrics/metrics.service';
import { BatchesRepository } from '../batches.repository';
import { BatchesService, type SubmitResult } from '../batches.service';
import { ChunkEnqueuer } from '../chunk-enqueuer';
import { storageQuotaOf } from '../storage-quota';
import { BatchRetryRepository, RETRIED_ITEM_STATUSES } from './batch-retry.repository';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Retry: a new batch, linked to an ended one, holding only its failed and expired items. With an
 * Idempotency-Key, repeating the request returns the same retry batch instead of making another.
 */
@Injectable()
export class BatchRetryService {
  constructor(
    private readonly batches: BatchesService,
    private readonly batchRows: BatchesRepository,
    private readonly retries: BatchRetryRepository,
    private readonly enqueuer: ChunkEnqueuer,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async retry(
    principal: Principal,
    id: string,
    idempotencyKey: string | undefined,
  ): Promise<SubmitResult> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw ApiError.badRequest(
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 255 visible ASCII characters',
      );
    }
    const source = await this.batches.withResults(principal, id); // 410: nothing left to retry
    const requestHash = createHash('sha256').update(`retry\n${source.id}`).digest('hex');
    if (idempotencyKey !== undefined) {
      const earlier = await this.batchRows.findByIdempotencyKey(principal.tenant, idempotencyKey);
      if (earlier) return replay(earlier, idempotencyKey, requestHash);
    }
    if (!isTerminalBatchStatus(source.status)) {
      throw ApiError.conflict(
        'batch_not_ended',
        `batch ${source.id} is ${source.status}; retry it once it has ended (its failed and expired items are known then)`,
      );
    }

    let batch: BatchEntity | null;
    try {
      batch = await this.retries.insert({
        id: randomUUID(),
        source,
        apiKeyId: principal.apiKeyId,
        idempotencyKey: idempotencyKey ?? null,
        requestHash: idempotencyKey !== undefined ? requestHash : null,
        quota: storageQuotaOf(this.config),
      });
    } catch (error) {
      // A concurrent request with the same Idempotency-Key committed first.
      if (idempotencyKey !== undefined && pgErrorCode(error) === UNIQUE_VIOLATION) {
        const winner = await this.batchRows.findByIdempotencyKey(principal.tenant, idempotencyKey);
        if (winner) return replay(winner, idempotencyKey, requestHash);
      }
      throw error;
    }
    if (!batch) {
      throw ApiError.conflict(
        'nothing_to_retry',
        `batch ${source.id} has no ${RETRIED_ITEM_STATUSES.join(' or ')} items to retry`,
      );
    }
    this.metrics.batchesAccepted.inc();
    this.metrics.itemsAccepted.inc(batch.totalCount);
    // As on submit: a failed enqueue leaves the batch committed, and the reconciler enqueues it.
    if (await this.enqueuer.enqueue(batch)) {
      batch = (await this.batchRows.findOwned(batch.id, principal.tenant)) ?? batch;
    }
    return { batch, created: true };
  }
}

function replay(earlier: BatchEntity, key: string, requestHash: string): SubmitResult {
  if (earlier.requestHash !== requestHash) {
    throw ApiError.conflict(
      'idempotency_key_reused',
      `Idempotency-Key ${JSON.stringify(key)} was already used for a different request (batch ${earlier.id}); ` +
        'send the identical request to get that batch, or use a new key for a new batch',
    );
  }
  return { batch: earlier, created: false };
}
