export {
  configSchema,
  loadConfig,
  ConfigError,
  EXECUTION_PROVIDERS,
  type Config,
} from './config/config.schema';
export { configTable } from './config/config-table';

export { dataSourceOptions, ENTITIES, MIGRATIONS } from './database/data-source';
export { migrate } from './database/migrate';
export { ApiKeyEntity } from './database/entities/api-key.entity';
export { BatchEntity } from './database/entities/batch.entity';
export { BatchItemEntity } from './database/entities/batch-item.entity';
export {
  BatchProgressRepository,
  type BatchProgress,
  type Claim,
  type ClaimedItem,
  type ItemOutcome,
  type RequestCounts,
} from './database/batch-progress.repository';
export { inTransaction, pgErrorCode, queryRows, rows, UNIQUE_VIOLATION } from './database/sql';
export {
  BATCH_STATUSES,
  ITEM_STATUSES,
  TERMINAL_BATCH_STATUSES,
  TERMINAL_ITEM_STATUSES,
  isTerminalBatchStatus,
  type BatchStatus,
  type ItemStatus,
  type TerminalItemStatus,
} from './database/statuses';

export {
  CANCEL_CHANNEL,
  CHUNK_JOB,
  CHUNK_QUEUE,
  chunkJobId,
  chunkJobOptions,
  chunkJobs,
  type ChunkJobData,
} from './queue/chunk-queue';
export {
  CANVAS_FRAME_FIELD,
  CANVAS_STREAM_LIMITS,
  canvasStreamKey,
  type CanvasFrame,
} from './queue/canvas-stream';
