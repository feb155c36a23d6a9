import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface TimeBucketRow {
  bucket: number;
  items: number;
  tokens: number;
}

export interface BinRow {
  bin: number;
  count: number;
}

/** Aggregates over a batch's finished items, computed in Postgres (a batch may hold 100,000). */
@Injectable()
export class BatchStatsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Completed items and their tokens per `widthS`-second bucket of finished_at, counted from `from`. */
  throughput(batchId: string, from: Date, widthS: number): Promise<TimeBucketRow[]> {
    return this.dataSource.query(
      `SELECT floor(extract(epoch FROM finished_at - $2::timestamptz) / $3::float8)::int AS bucket,
              count(*)::int AS items, coalesce(sum(tokens), 0)::int AS tokens
       FROM batch_items
       WHERE batch_id = $1 AND status = 'completed' AND finished_at IS NOT NULL
       GROUP BY 1 ORDER BY 1`,
      [batchId, from, widthS],
    );
  }

  /** min and max of an integer column over completed items (null when none has a value). */
  async range(
    batchId: string,
    column: 'steps' | 'compute_ms',
  ): Promise<{ min: number; max: number } | null> {
    const [row] = await this.dataSource.query<{ min: number | null; max: number | null }[]>(
      `SELECT min(${column})::int AS min, max(${column})::int AS max
       FROM batch_items WHERE batch_id = $1 AND status = 'completed'`,
      [batchId],
    );
    return row && row.min !== null && row.max !== null ? { min: row.min, max: row.max } : null;
  }

  /** Completed items per bin of `width` over an integer column, bins counted from `min`. */
  histogram(
    batchId: string,
    column: 'steps' | 'compute_ms',
    min: number,
    width: number,
  ): Promise<BinRow[]> {
    return this.dataSource.query(
      `SELECT ((${column} - $2::int) / $3::int)::int AS bin, count(*)::int AS count
       FROM batch_items
       WHERE batch_id = $1 AND status = 'completed' AND ${column} IS NOT NULL
       GROUP BY 1 ORDER BY 1`,
      [batchId, min, width],
    );
  }
}
