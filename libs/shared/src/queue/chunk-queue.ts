import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.schema';

/**
 * The chunk queue, declared in one place: its name, job options, worker options, connections
 * and retention. The API (producer), the workers (consumers) and the repair loop all build
 * their queue objects here, so no side silently relies on a BullMQ default.
 */

/**
 * Base name of the chunk queues between the API and the workers: one queue per model
 * (`dllm-chunks.<model>`), one job per chunk of a batch's items. A worker consumes the queues of
 * the models it serves, so a chunk only reaches a worker that has its model loaded.
 */
export const CHUNK_QUEUE = 'dllm-chunks';

/** The chunk queue of one model (catalog names never hold ':', which BullMQ refuses). */
export function chunkQueueName(model: string): string {
  return `${CHUNK_QUEUE}.${model}`;
}

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
  /**
   * Set by the repair loop when it re-enqueues a chunk whose worker died holding it: its
   * unfinished items are suspects and run one at a time (see the worker's isolation lane).
   */
  suspect?: boolean;
}

/**
 * Deterministic job id, so enqueuing a chunk twice (API retry, repair loop) adds nothing.
 * BullMQ 6 rejects custom ids with exactly one ':' ("Custom Id cannot contain :"), hence '_'.
 */
export function chunkJobId(batchId: string, chunk: number): string {
  return `${batchId}_${chunk}`;
}

/** The chunk holding items [chunk * chunkSize, ...] of a batch of `total` items. */
export function chunkJob(
  batchId: string,
  chunk: number,
  total: number,
  chunkSize: number,
): ChunkJobData {
  const firstIndex = chunk * chunkSize;
  return { batchId, chunk, firstIndex, lastIndex: Math.min(firstIndex + chunkSize, total) - 1 };
}

/** Splits items 0..total-1 into chunks of `chunkSize` (the last may be shorter). */
export function chunkJobs(batchId: string, total: number, chunkSize: number): ChunkJobData[] {
  const jobs: ChunkJobData[] = [];
  for (let chunk = 0; chunk * chunkSize < total; chunk++) {
    jobs.push(chunkJob(batchId, chunk, total, chunkSize));
  }
  return jobs;
}

type JobConfig = Pick<Config, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'> &
  Partial<Pick<Config, 'JOB_FAILED_RETENTION_S'>>;

/** Job options of every chunk job, whoever adds it. */
export function chunkJobOptions(config: JobConfig): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    // Postgres holds the results; a finished job is only Redis memory.
    removeOnComplete: true,
    // Kept for operators to see why a chunk gave up; the repair loop re-enqueues or ends it.
    removeOnFail: { age: config.JOB_FAILED_RETENTION_S ?? 7 * 86_400 },
  };
}

/**
 * Chunks one worker runs at once; 0 in the config = enough to fill 2 engine batches of
 * `maxBatchRows` (the engine's limit in use: configured, or its execution provider's default).
 */
export function workerConcurrency(
  config: Pick<Config, 'WORKER_CONCURRENCY' | 'BATCH_CHUNK_SIZE'>,
  maxBatchRows: number,
): number {
  return (
    config.WORKER_CONCURRENCY ||
    Math.max(2, Math.ceil((2 * maxBatchRows) / config.BATCH_CHUNK_SIZE) + 1)
  );
}

/** Worker options of a chunk consumer (connection added by openChunkWorker). */
export function chunkWorkerOptions(
  config: Pick<
    Config,
    | 'QUEUE_PREFIX'
    | 'WORKER_CONCURRENCY'
    | 'BATCH_CHUNK_SIZE'
    | 'WORKER_LOCK_MS'
    | 'WORKER_STALLED_CHECK_MS'
    | 'WORKER_MAX_STALLED'
  >,
  maxBatchRows: number,
): Omit<WorkerOptions, 'connection'> {
  return {
    prefix: config.QUEUE_PREFIX,
    concurrency: workerConcurrency(config, maxBatchRows),
    lockDuration: config.WORKER_LOCK_MS,
    // renew well before the lock lapses, even with a busy event loop
    lockRenewTime: Math.floor(config.WORKER_LOCK_MS / 3),
    stalledInterval: config.WORKER_STALLED_CHECK_MS,
    maxStalledCount: config.WORKER_MAX_STALLED,
  };
}

/**
 * Redis connection options by role. A consumer blocks on Redis and must wait out an outage
 * (maxRetriesPerRequest: null, as BullMQ requires); a producer fails fast instead, so an
 * HTTP request is never held by a Redis outage (the repair loop enqueues later).
 */
export function redisOptions(role: 'consumer' | 'producer'): RedisOptions {
  return role === 'consumer'
    ? { maxRetriesPerRequest: null }
    : { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
}

/** A Queue with the connection it owns (BullMQ never closes a handed-in one): closeAll() closes both. */
export interface OwnedQueue extends Queue<ChunkJobData> {
  /** the queue's own connection, for reads BullMQ has no API for (see repair/chunk-states) */
  readonly redis: Redis;
  closeAll(): Promise<void>;
}

/** The producer side of one model's chunk queue, on a connection of its own. */
export function openChunkQueue(
  config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
  model: string,
  role: 'consumer' | 'producer' = 'producer',
): OwnedQueue {
  const connection = new Redis(config.REDIS_URL, redisOptions(role));
  // ioredis reports connection errors as events; without a listener they would be "unhandled".
  connection.on('error', () => undefined);
  const queue = new Queue<ChunkJobData>(chunkQueueName(model), {
    prefix: config.QUEUE_PREFIX,
    connection,
  }) as OwnedQueue;
  queue.on('error', () => undefined);
  Object.defineProperty(queue, 'redis', { value: connection });
  queue.closeAll = async () => {
    await queue.close().catch(() => undefined);
    connection.disconnect();
  };
  return queue;
}

/** A consumer of one model's chunk queue, on a connection of its own (closed with the worker). */
export function openChunkWorker(
  config: Parameters<typeof chunkWorkerOptions>[0] & Pick<Config, 'REDIS_URL'>,
  model: string,
  processor: Processor<ChunkJobData>,
  maxBatchRows: number,
): { worker: Worker<ChunkJobData>; connection: Redis } {
  const connection = new Redis(config.REDIS_URL, redisOptions('consumer'));
  connection.on('error', () => undefined);
  const worker = new Worker<ChunkJobData>(chunkQueueName(model), processor, {
    ...chunkWorkerOptions(config, maxBatchRows),
    connection,
  });
  return { worker, connection };
}

/** Jobs per addBulk call: one Redis round trip each, without one huge MULTI. */
const JOBS_PER_CALL = 1000;

/** Adds chunk jobs (idempotent by job id). */
export async function addChunkJobs(
  queue: Queue<ChunkJobData>,
  jobs: readonly ChunkJobData[],
  options: JobsOptions,
): Promise<void> {
  for (let start = 0; start < jobs.length; start += JOBS_PER_CALL) {
    await queue.addBulk(
      jobs.slice(start, start + JOBS_PER_CALL).map((data) => ({
        name: CHUNK_JOB,
        data,
        opts: { ...options, jobId: chunkJobId(data.batchId, data.chunk) },
      })),
    );
  }
}
