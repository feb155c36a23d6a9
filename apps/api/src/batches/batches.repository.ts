import { Injectable } from '@nestjs/common';
import {
  BatchEntity,
  BatchItemEntity,
  inTransaction,
  preparedRows,
  TERMINAL_ITEM_STATUSES,
  type BatchOrigin,
  type BatchStatus,
  type ItemStatus,
} from '@dllm/shared';
import { DataSource, type Repository } from 'typeorm';
import { assertStorageQuota, type StorageQuota } from './storage-quota';
import type { SubmittedItem } from './submission/submission';

/** Rows per multi-row INSERT: large enough to amortise round trips, small enough to stay in memory. */
const INSERT_CHUNK = 10_000;

export interface NewBatch {
  id: string;
  tenant: string;
  apiKeyId: string;
  model: string;
  params: Record<string, unknown>;
  metadata: Record<string, string>;
  completionWindow: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** default native */
  origin?: BatchOrigin;
  endpoint?: string | null;
  inputFileId?: string | null;
  webhookUrl?: string | null;
  /** items that asked for canvases (intermediate_every > 0) */
  canvasItems?: number;
}

export interface HistoryFilter {
  statuses?: BatchStatus[];
  model?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  metadata?: Record<string, string>;
  /** keyset position: strictly older than this (created_at, id) */
  before?: { createdAt: Date; id: string };
}

/** The API's SQL for batches and items (state changes after submission live in BatchProgressRepository). */
@Injectable()
export class BatchesRepository {
  private readonly batches: Repository<BatchEntity>;
  private readonly items: Repository<BatchItemEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.batches = dataSource.getRepository(BatchEntity);
    this.items = dataSource.getRepository(BatchItemEntity);
  }

  /**
   * The batch row and all its items in ONE transaction: a batch is either wholly accepted or
   * not at all. Items go in as multi-row INSERTs fed by arrays (unnest): one statement per
   * 10,000 rows instead of one per row.
   */
  /** With a `quota`, the tenant's stored items plus these must fit it (403 otherwise). */
  async insert(
    batch: NewBatch,
    items: readonly SubmittedItem[],
    quota?: StorageQuota,
  ): Promise<BatchEntity> {
    const { batchSql, batchParams, itemsSql, itemParams } = insertStatements(batch, items.length);
    if (!quota && items.length <= INSERT_CHUNK) {
      // one statement (a sync completion's accept): no transaction round trips, no re-read; the
      // items' foreign key is checked at its end, when the batch row is in
      const [row] = await preparedRows<Record<string, unknown>>(
        this.dataSource,
        `WITH b AS (${batchSql} RETURNING *),
         i AS (${itemsSql.replace(/\$(\d+)/g, (_, n: string) =>
           // $1 is the batch id in both; the items' arrays follow the batch's parameters
           n === '1' ? '$1' : `$${Number(n) - 1 + batchParams.length}`,
         )})
         SELECT * FROM b`,
        [...batchParams, ...itemParams(items, 0)],
      );
      return this.entityOf(row!);
    }
    await inTransaction(this.dataSource, async (runner) => {
      if (quota) {
        await assertStorageQuota(
          runner,
          batch.tenant,
          { items: items.length, canvasItems: batch.canvasItems ?? 0 },
          quota,
        );
      }
      await runner.query(batchSql, batchParams);
      for (let start = 0; start < items.length; start += INSERT_CHUNK) {
        await runner.query(itemsSql, [
          batch.id,
          ...itemParams(items.slice(start, start + INSERT_CHUNK), start),
        ]);
      }
    });
    return (await this.batches.findOneBy({ id: batch.id }))!;
  }

  /** A batches row (column names) as TypeORM would load it. */
  private entityOf(row: Record<string, unknown>): BatchEntity {
    const entity = this.batches.create();
    for (const column of this.batches.metadata.columns) {
      const raw = row[column.databaseName];
      const transformer = column.transformer;
      const value: unknown =
        transformer && !Array.isArray(transformer) && raw !== null
          ? (transformer.from(raw) as unknown)
          : raw;
      column.setEntityValue(entity, value);
    }
    return entity;
  }

  /** A batch of this tenant; another tenant's batch is "not found", never "forbidden". */
  findOwned(id: string, tenant: string): Promise<BatchEntity | null> {
    return this.batches.findOneBy({ id, tenant });
  }

  findByIdempotencyKey(tenant: string, idempotencyKey: string): Promise<BatchEntity | null> {
    return this.batches.findOneBy({ tenant, idempotencyKey });
  }

  /** Newest first, keyset-paginated on (created_at, id). Reads `limit` rows at most. */
  history(tenant: string, filter: HistoryFilter, limit: number): Promise<BatchEntity[]> {
    // interactive completions are one-item batches of their own requests, not history
    const q = this.batches
      .createQueryBuilder('b')
      .where('b.tenant = :tenant', { tenant })
      .andWhere(`b.origin <> 'interactive'`);
    if (filter.statuses?.length)
      q.andWhere('b.status IN (:...statuses)', { statuses: filter.statuses });
    if (filter.model) q.andWhere('b.model = :model', { model: filter.model });
    if (filter.createdAfter) q.andWhere('b.createdAt > :after', { after: filter.createdAfter });
    if (filter.createdBefore)
      q.andWhere('b.createdAt < :beforeDate', { beforeDate: filter.createdBefore });
    if (filter.metadata && Object.keys(filter.metadata).length > 0) {
      q.andWhere('b.metadata @> CAST(:metadata AS jsonb)', {
        metadata: JSON.stringify(filter.metadata),
      });
    }
    if (filter.before) {
      q.andWhere('(b.createdAt, b.id) < (:cursorAt, CAST(:cursorId AS uuid))', {
        cursorAt: filter.before.createdAt,
        cursorId: filter.before.id,
      });
    }
    return q.orderBy('b.createdAt', 'DESC').addOrderBy('b.id', 'DESC').limit(limit).getMany();
  }

  /** Items by index after `afterIndex`, optionally of some statuses. */
  itemsPage(
    batchId: string,
    options: { statuses?: readonly ItemStatus[]; afterIndex: number; limit: number },
  ): Promise<BatchItemEntity[]> {
    const q = this.items
      .createQueryBuilder('i')
      .where('i.batchId = :batchId', { batchId })
      .andWhere('i.index > :after', { after: options.afterIndex });
    if (options.statuses?.length)
      q.andWhere('i.status IN (:...statuses)', { statuses: options.statuses });
    return q.orderBy('i.index', 'ASC').limit(options.limit).getMany();
  }

  /** Ended items (the results so far), by index after `afterIndex`. */
  resultsPage(batchId: string, afterIndex: number, limit: number): Promise<BatchItemEntity[]> {
    return this.itemsPage(batchId, { statuses: TERMINAL_ITEM_STATUSES, afterIndex, limit });
  }
}

/** The batch row's INSERT (params $1..) and the items' INSERT ($1 the batch id, then 6 arrays). */
function insertStatements(batch: NewBatch, total: number) {
  return {
    batchSql: `INSERT INTO batches (id, tenant, api_key_id, status, model, params, metadata, completion_window,
                              idempotency_key, request_hash, total_count, created_at, expires_at,
                              origin, endpoint, input_file_id, webhook_url, canvas_items)
         SELECT $1, $2, $3, 'queued', $4, $5, $6, $7::int, $8, $9, $10, t.now, t.now + make_interval(secs => $7::int),
                $11, $12, $13, $14, $15
         -- millisecond timestamps: JS Dates carry no microseconds, and keyset cursors must round-trip
         FROM (SELECT date_trunc('milliseconds', now()) AS now) t`,
    batchParams: [
      batch.id,
      batch.tenant,
      batch.apiKeyId,
      batch.model,
      JSON.stringify(batch.params),
      JSON.stringify(batch.metadata),
      batch.completionWindow,
      batch.idempotencyKey,
      batch.requestHash,
      total,
      batch.origin ?? 'native',
      batch.endpoint ?? null,
      batch.inputFileId ?? null,
      batch.webhookUrl ?? null,
      batch.canvasItems ?? 0,
    ],
    itemsSql: `INSERT INTO batch_items (batch_id, index, custom_id, prompt, prefix, suffix, params)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])`,
    /** the 6 arrays of `chunk`, whose first item has index `start` */
    itemParams: (chunk: readonly SubmittedItem[], start: number): unknown[] => {
      const text = (pick: (item: SubmittedItem) => string | null) => chunk.map(pick);
      return [
        chunk.map((_, k) => start + k),
        text((i) => i.customId),
        text((i) => ('prompt' in i.task ? i.task.prompt : null)),
        text((i) => ('prefix' in i.task ? i.task.prefix : null)),
        text((i) => ('suffix' in i.task ? i.task.suffix : null)),
        text((i) => i.paramsJson),
      ];
    },
  };
}
