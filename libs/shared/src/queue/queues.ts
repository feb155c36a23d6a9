import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../config/config.schema';
import {
  CHUNK_JOB,
  chunkJobOptions,
  chunkQueueName,
  chunkWorkerOptions,
  redisOptions,
} from './chunk-queue';
import {
  INTERACTIVE_JOB,
  interactiveQueueName,
  WEBHOOK_JOB,
  WEBHOOK_QUEUE,
} from './interactive-queue';

/** Longest wait, past the drain, for handed-back jobs to leave before a close is forced. */
const HAND_BACK_MS = 5000;

/** What a queue is, in one row: who consumes it, its job and worker options, its shutdown drain. */
export interface QueueSpec {
  /** the BullMQ queue name (under QUEUE_PREFIX): per model for the work queues */
  name(model?: string): string;
  /** the one job name its jobs carry */
  job: string;
  /** the process kind that consumes it */
  consumer: 'worker' | 'api';
  jobOptions(config: Config): JobsOptions;
  /** every option that matters, so no consumer silently runs on a BullMQ default */
  workerOptions(
    config: Config,
    /** chunks only: the engine's rows per forward (the concurrency follows it) */
    maxBatchRows?: number,
  ): Omit<WorkerOptions, 'connection' | 'prefix'>;
  /** longest a consumer's close waits for running jobs before it hands them back */
  drainMs(config: Config): number;
}

/** The same lock and stall settings for every consumer: a dead process's jobs are taken over alike. */
const locks = (config: Config) => ({
  lockDuration: config.WORKER_LOCK_MS,
  // renew well before the lock lapses, even with a busy event loop
  lockRenewTime: Math.floor(config.WORKER_LOCK_MS / 3),
  stalledInterval: config.WORKER_STALLED_CHECK_MS,
  maxStalledCount: config.WORKER_MAX_STALLED,
});

/**
 * Every queue of the deployment, declared once (the producers, the consumers and Bull Board all
 * read this table). Tunables come from the config schema.
 */
export const QUEUES = {
  /** bulk work: one job per chunk of a batch's items */
  chunks: {
    name: (model) => chunkQueueName(need(model, 'chunks')),
    job: CHUNK_JOB,
    consumer: 'worker',
    jobOptions: (config) => chunkJobOptions(config),
    // (its prefix is set again by openConsumer, from the same config)
    workerOptions: (config, maxBatchRows = 1) => chunkWorkerOptions(config, maxBatchRows),
    drainMs: (config) => config.WORKER_DRAIN_MS,
  },
  /** sync completions: one-item batches, taken ahead of bulk chunks by their own slots */
  interactive: {
    name: (model) => interactiveQueueName(need(model, 'interactive')),
    job: INTERACTIVE_JOB,
    consumer: 'worker',
    // a user waits: few quick retries (the request times out anyway)
    jobOptions: (config) => ({
      attempts: config.INTERACTIVE_ATTEMPTS,
      backoff: { type: 'fixed', delay: config.INTERACTIVE_BACKOFF_MS },
      removeOnComplete: true,
      removeOnFail: { age: config.JOB_FAILED_RETENTION_S },
    }),
    workerOptions: (config) => ({ concurrency: config.INTERACTIVE_CONCURRENCY, ...locks(config) }),
    drainMs: (config) => config.WORKER_DRAIN_MS,
  },
  /** completion webhooks: one job per ended batch that asked for one, delivered by the API */
  webhooks: {
    name: () => WEBHOOK_QUEUE,
    job: WEBHOOK_JOB,
    consumer: 'api',
    jobOptions: (config) => ({
      attempts: config.WEBHOOK_ATTEMPTS,
      backoff: { type: 'exponential', delay: config.WEBHOOK_BACKOFF_MS },
      removeOnComplete: true,
      removeOnFail: { age: config.JOB_FAILED_RETENTION_S },
    }),
    workerOptions: (config) => ({ concurrency: config.WEBHOOK_CONCURRENCY, ...locks(config) }),
    drainMs: (config) => config.WEBHOOK_DRAIN_MS,
  },
} as const satisfies Record<string, QueueSpec>;

export type QueueKind = keyof typeof QUEUES;

/** A Queue with the connection it owns (BullMQ never closes a handed-in one): closeAll() closes both. */
export interface OwnedQueueOf<T> extends Queue<T> {
  closeAll(): Promise<void>;
}

/** A producer of queue `kind`, on a connection of its own that fails fast (no HTTP request waits out Redis). */
export function openQueue<T>(
  kind: QueueKind,
  config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
  /** the model, for the per-model work queues (chunks, interactive) */
  model?: string,
): OwnedQueueOf<T> {
  const connection = new Redis(config.REDIS_URL, redisOptions('producer'));
  connection.on('error', () => undefined);
  const queue = new Queue<T>(QUEUES[kind].name(model), {
    prefix: config.QUEUE_PREFIX,
    connection,
  }) as OwnedQueueOf<T>;
  queue.on('error', () => undefined);
  queue.closeAll = async () => {
    await queue.close().catch(() => undefined);
    connection.disconnect();
  };
  return queue;
}

/** A consumer of queue `kind` with the table's options, and a close bounded by its drain. */
export interface QueueConsumer<T> {
  worker: Worker<T>;
  /** the consumer's own connection (health probes); closed by close() */
  connection: Redis;
  /**
   * Stops taking jobs and waits for the running ones, at most drainMs (default: the table's);
   * past it `onTimeout` hands them back (or lets them go), and the close completes.
   */
  close(opts?: { drainMs?: number; onTimeout?: () => void }): Promise<'drained' | 'timeout'>;
}

export function openConsumer<T>(
  kind: QueueKind,
  config: Config,
  processor: Processor<T>,
  opts: { model?: string; maxBatchRows?: number } = {},
): QueueConsumer<T> {
  const spec: QueueSpec = QUEUES[kind];
  const connection = new Redis(config.REDIS_URL, redisOptions('consumer'));
  connection.on('error', () => undefined);
  const worker = new Worker<T>(spec.name(opts.model), processor, {
    ...spec.workerOptions(config, opts.maxBatchRows),
    prefix: config.QUEUE_PREFIX,
    connection,
  });
  return {
    worker,
    connection,
    close: async ({ drainMs = spec.drainMs(config), onTimeout } = {}) => {
      const outcome = await closeBounded(worker, drainMs, onTimeout);
      connection.disconnect();
      return outcome;
    },
  };
}

/**
 * worker.close() waits forever by default (DESIGN.md section 5): wait at most `drainMs`, then
 * `onTimeout` (hand the jobs back), then force the close so shutdown always completes.
 */
export async function closeBounded(
  worker: Pick<Worker, 'close'>,
  drainMs: number,
  onTimeout?: () => void,
): Promise<'drained' | 'timeout'> {
  const closed = worker.close();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), drainMs);
    timer.unref();
  });
  const outcome = await Promise.race([closed.then(() => 'drained' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    onTimeout?.();
    // handed back, the jobs end quickly; should one still hang, force the close
    const late = await Promise.race([
      closed.then(() => true),
      new Promise<false>((r) =>
        setTimeout(() => r(false), Math.max(drainMs, HAND_BACK_MS)).unref(),
      ),
    ]);
    if (!late) await worker.close(true).catch(() => undefined);
  }
  return outcome;
}

function need(model: string | undefined, kind: string): string {
  if (!model) throw new Error(`the ${kind} queues are per model: name the model`);
  return model;
}
