import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from '../config/config.schema';
import type { BatchProgressRepository } from '../database/batch-progress.repository';
import type { BatchEventLog } from '../events/batch-event-log';
import { chunkJobOptions, type OwnedQueue } from '../queue/chunk-queue';
import { RepairLoop, type RepairAction } from './repair-loop';

/** The repair loop as both apps build it from the configuration. */
export function repairLoopFor(
  config: Config,
  deps: {
    dataSource: DataSource;
    /** each model's chunk queue (ChunkQueues.for) */
    queueFor: (model: string) => OwnedQueue;
    progress: BatchProgressRepository;
    /** announces ended batches whose end event was lost (see BatchEventLog.rederiveEnded) */
    events?: Pick<BatchEventLog, 'rederiveEnded'>;
    log: Logger;
    onAction?: (action: RepairAction, count: number) => void;
  },
): RepairLoop {
  return new RepairLoop({
    ...deps,
    databaseUrl: config.DATABASE_URL,
    leaseName: `dllm-repair:${config.QUEUE_PREFIX}`,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    graceMs: config.REPAIR_GRACE_MS,
    enqueueGraceMs: config.ENQUEUE_GRACE_MS,
    defaultChunkSize: config.BATCH_CHUNK_SIZE,
    chunkSize: config.BATCH_CHUNK_SIZE,
    jobOptions: chunkJobOptions(config),
  });
}
