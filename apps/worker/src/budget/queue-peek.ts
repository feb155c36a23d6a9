import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import { parseGenerationParams } from '@dllm/engine';
import type { ChunkJobData } from '@dllm/shared';
import { heldItem, type HeldItem, type WaitingWork } from '@dllm/engine/budget';

/** Batch defaults are fixed at submit: read and parsed once per batch, remembered (bounded). */
const MAX_REMEMBERED = 1000;

/**
 * What the budget controller may know of the queue beyond the chunks this worker holds: the oldest
 * `limit` waiting chunk jobs, each weighed by its batch's default parameters (deadline, budget, floor,
 * gen_length; read from Postgres once per batch). Item-level overrides are not seen until a worker
 * claims the chunk; waiting chunks past `limit` are only counted.
 */
export class QueuePeek {
  /** a batch's items as its defaults describe them; null: unknown (gone, or defaults that no longer parse) */
  private readonly batches = new Map<string, HeldItem | null>();

  constructor(
    private readonly queue: Pick<Queue<ChunkJobData>, 'getJobs' | 'getJobCountByTypes'>,
    private readonly dataSource: Pick<DataSource, 'query'>,
    private readonly itemsPerChunk: number,
    private readonly limit = 200,
  ) {}

  async waiting(): Promise<WaitingWork> {
    const [jobs, total] = await Promise.all([
      this.queue.getJobs(['prioritized', 'waiting'], 0, this.limit - 1, true),
      this.queue.getJobCountByTypes('prioritized', 'waiting'),
    ]);
    const data = jobs.map((j) => j.data).filter(Boolean);
    await this.load([...new Set(data.map((d) => d.batchId))].filter((id) => !this.batches.has(id)));
    const chunks = data.map((d) => ({
      items: d.lastIndex - d.firstIndex + 1,
      item: this.batches.get(d.batchId) ?? null,
    }));
    return {
      chunks,
      unseenChunks: Math.max(0, total - chunks.length),
      itemsPerChunk: this.itemsPerChunk,
    };
  }

  private async load(ids: string[]): Promise<void> {
    if (!ids.length) return;
    if (this.batches.size + ids.length > MAX_REMEMBERED) this.batches.clear();
    const rows: Array<{ id: string; params: unknown; created_at: Date }> =
      await this.dataSource.query(
        `SELECT id, params, created_at FROM batches WHERE id = ANY($1::uuid[])`,
        [ids],
      );
    for (const id of ids) this.batches.set(id, null);
    for (const r of rows)
      this.batches.set(r.id, describe(r.params, new Date(r.created_at).getTime()));
  }
}

/** A waiting chunk's items as their batch's defaults describe them; null when those no longer parse. */
function describe(params: unknown, createdAt: number): HeldItem | null {
  try {
    return heldItem(parseGenerationParams(params), createdAt);
  } catch {
    return null; // counted as deadline-free work
  }
}
