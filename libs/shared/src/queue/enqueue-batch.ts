import type { JobsOptions, Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import { addChunkJobs, chunkJobs, type ChunkJobData } from './chunk-queue';

/**
 * Puts a committed batch's chunk jobs in Redis, then stamps enqueued_at and the chunk size.
 * Job ids are deterministic, so doing it twice (the API, then the repair loop after a crash)
 * adds nothing.
 */
export async function enqueueBatch(
  queue: Queue<ChunkJobData>,
  dataSource: DataSource,
  batch: { id: string; totalCount: number },
  chunkSize: number,
  options: JobsOptions,
): Promise<void> {
  await addChunkJobs(queue, chunkJobs(batch.id, batch.totalCount, chunkSize), options);
  await dataSource.query(
    `UPDATE batches SET enqueued_at = now(), chunk_size = $2 WHERE id = $1 AND enqueued_at IS NULL`,
    [batch.id, chunkSize],
  );
}
