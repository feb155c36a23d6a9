import { Injectable } from '@nestjs/common';
import { BatchEntity, inTransaction, rows } from '@dllm/shared';
import { DataSource } from 'typeorm';
import { assertStorageQuota, type StorageQuota } from '../storage-quota';

/** Item states a retry runs again: the ones that ended without a result through no choice of the user. */
export const RETRIED_ITEM_STATUSES = ['failed', 'expired'] as const;

export interface NewRetry {
  id: string;
  source: BatchEntity;
  apiKeyId: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** the tenant's storage quotas: the copied items must fit them (403 otherwise) */
  quota?: StorageQuota;
}

/** The SQL of a retry: copy a batch's failed and expired items into a new batch, in one transaction. */
@Injectable()
export class BatchRetryRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts the retry batch (the source's model, parameters, metadata and window) and copies the
   * source's failed and expired items into it, renumbered from 0 in their original order, with the
   * same custom_id, input and parameters; then points the source at it. Returns null, writing
   * nothing, when the source has no such item.
   */
  async insert(retry: NewRetry): Promise<BatchEntity | null> {
    const { source } = retry;
    const created = await inTransaction(this.dataSource, async (runner) => {
      const [count] = await rows<{ n: number; canvases: number }>(
        runner,
        `SELECT count(*)::int AS n,
                count(*) FILTER (WHERE coalesce((params->>'intermediate_every')::int, 0) > 0)::int AS canvases
         FROM batch_items WHERE batch_id = $1 AND status = ANY($2::text[])`,
        [source.id, RETRIED_ITEM_STATUSES],
      );
      if (!count || count.n === 0) return false;
      if (retry.quota) {
        await assertStorageQuota(
          runner,
          source.tenant,
          { items: count.n, canvasItems: count.canvases },
          retry.quota,
        );
      }
      await runner.query(
        `INSERT INTO batches (id, tenant, api_key_id, status, model, params, metadata, completion_window,
                              idempotency_key, request_hash, total_count, retry_of, created_at, expires_at,
                              endpoint, canvas_items)
         SELECT $1, $2, $3, 'queued', $4, $5, $6, $7::int, $8, $9, $10, $11, t.now, t.now + make_interval(secs => $7::int),
                $12, $13
         -- millisecond timestamps, as for every batch: keyset cursors must round-trip through JS Dates
         FROM (SELECT date_trunc('milliseconds', now()) AS now) t`,
        [
          retry.id,
          source.tenant,
          retry.apiKeyId,
          source.model,
          JSON.stringify(source.params),
          JSON.stringify(source.metadata),
          source.completionWindow,
          retry.idempotencyKey,
          retry.requestHash,
          count.n,
          source.id,
          // OpenAI batch lines: results keep the shape of their endpoint (completion or chat)
          source.endpoint,
          count.canvases,
        ],
      );
      await runner.query(
        `INSERT INTO batch_items (batch_id, index, custom_id, prompt, prefix, suffix, params)
         SELECT $1, (row_number() OVER (ORDER BY index) - 1)::int, custom_id, prompt, prefix, suffix, params
         FROM batch_items WHERE batch_id = $2 AND status = ANY($3::text[])`,
        [retry.id, source.id, RETRIED_ITEM_STATUSES],
      );
      await runner.query(`UPDATE batches SET retried_by = $1 WHERE id = $2`, [retry.id, source.id]);
      return true;
    });
    return created ? this.dataSource.getRepository(BatchEntity).findOneBy({ id: retry.id }) : null;
  }
}
