import type { BatchStats } from '@dllm/contract';
import { Injectable } from '@nestjs/common';
import type { BatchEntity } from '@dllm/shared';
import { BatchStatsRepository } from './batch-stats.repository';
import { binWidth, timeBucketSeconds } from './stats-buckets';

const MAX_TIME_BUCKETS = 40;
const MAX_BINS = 30;

export interface Histogram {
  /** each bin covers [from, to] inclusive */
  bins: { from: number; to: number; count: number }[];
}

/** What the dashboard charts: throughput over time and distributions of per-item cost. */
@Injectable()
export class BatchStatsService {
  constructor(private readonly stats: BatchStatsRepository) {}

  async forBatch(batch: BatchEntity, now = new Date()): Promise<BatchStats> {
    const [throughput, forwards, computeMs] = await Promise.all([
      this.throughput(batch, now),
      this.histogram(batch.id, 'steps'),
      this.histogram(batch.id, 'compute_ms'),
    ]);
    return {
      object: 'batch.stats' as const,
      batch_id: batch.id,
      throughput,
      forwards_per_item: forwards,
      compute_ms: computeMs,
    };
  }

  /** Tokens/s and items finished per bucket from the first item's start to the end (or now), zeros included. */
  private async throughput(batch: BatchEntity, now: Date) {
    const start = batch.inProgressAt;
    if (!start) return { start: null, bucket_seconds: null, points: [] };
    const end = batch.completedAt ?? batch.failedAt ?? batch.cancelledAt ?? batch.expiredAt ?? now;
    const spanMs = Math.max(0, end.getTime() - start.getTime());
    const width = timeBucketSeconds(spanMs, MAX_TIME_BUCKETS);
    const rows = await this.stats.throughput(batch.id, start, width);
    const byBucket = new Map(rows.map((r) => [r.bucket, r]));
    const last = Math.max(Math.floor(spanMs / 1000 / width), ...rows.map((r) => r.bucket));
    const points = [];
    for (let b = 0; b <= last; b++) {
      const row = byBucket.get(b);
      const tokens = row?.tokens ?? 0;
      points.push({
        t: Number((b * width).toFixed(3)),
        items: row?.items ?? 0,
        tokens,
        tokens_per_second: Number((tokens / width).toFixed(2)),
      });
    }
    return { start: start.toISOString(), bucket_seconds: width, points };
  }

  private async histogram(batchId: string, column: 'steps' | 'compute_ms'): Promise<Histogram> {
    const range = await this.stats.range(batchId, column);
    if (!range) return { bins: [] };
    const width = binWidth(range.min, range.max, MAX_BINS);
    const rows = await this.stats.histogram(batchId, column, range.min, width);
    const counts = new Map(rows.map((r) => [r.bin, r.count]));
    const bins = [];
    for (let b = 0; b <= Math.floor((range.max - range.min) / width); b++) {
      const from = range.min + b * width;
      bins.push({ from, to: from + width - 1, count: counts.get(b) ?? 0 });
    }
    return { bins };
  }
}
