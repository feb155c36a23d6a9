import type { Config } from '../config/config.schema';

/** The one BullMQ queue between the API and the workers: one job per chunk of a batch's items. */
export const CHUNK_QUEUE = 'dllm-chunks';

/** Job name of a chunk job (BullMQ wants one; there is only this kind). */
export const CHUNK_JOB = 'chunk';

/** Redis pub/sub channel; the message is a batch id whose running rows should stop. */
export const CANCEL_CHANNEL = 'dllm:cancel';

/** A contiguous run of a batch's items, [firstIndex, lastIndex] inclusive. */
export interface ChunkJobData {
  batchId: string;
  chunk: number;
  firstIndex: number;
  lastIndex: number;
}

/**
 * Deterministic job id, so enqueuing a chunk twice (API retry, reconciler) adds nothing.
 * BullMQ 6 rejects custom ids with exactly one ':' ("Custom Id cannot contain :"), hence '_'.
 */
export function chunkJobId(batchId: string, chunk: number): string {
  return `${batchId}_${chunk}`;
}

/** Splits items 0..total-1 into chunks of `chunkSize` (the last may be shorter). */
export function chunkJobs(batchId: string, total: number, chunkSize: number): ChunkJobData[] {
  const jobs: ChunkJobData[] = [];
  for (let chunk = 0, first = 0; first < total; chunk++, first += chunkSize) {
    jobs.push({
      batchId,
      chunk,
      firstIndex: first,
      lastIndex: Math.min(first + chunkSize, total) - 1,
    });
  }
  return jobs;
}

/** Job options shared by every producer of chunk jobs. */
export function chunkJobOptions(config: Pick<Config, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>) {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    // Postgres holds the results; a finished job is only Redis memory.
    removeOnComplete: true,
    // Kept a week so an operator can see why a chunk gave up.
    removeOnFail: { age: 7 * 24 * 3600 },
  } as const;
}
