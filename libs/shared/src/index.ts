export {
  configSchema,
  loadConfig,
  ConfigError,
  EXECUTION_PROVIDERS,
  type Config,
  type ModelEntry,
} from './config/config.schema';
export { configTable } from './config/config-table';
export { createProcessLogger, type LoggingService } from './logging/process-logger';

export { dataSourceOptions, ENTITIES, MIGRATIONS } from './database/data-source';
export { migrate } from './database/migrate';
export { ApiKeyEntity } from './database/entities/api-key.entity';
export { BatchEntity } from './database/entities/batch.entity';
export { BatchItemEntity } from './database/entities/batch-item.entity';
export { FileEntity, FILE_PURPOSES, type FilePurpose } from './database/entities/file.entity';
export {
  BatchProgressRepository,
  type BatchChange,
  type BatchChangeSink,
  type BatchProgress,
  type ChunkEnding,
  type Claim,
  type ClaimedItem,
  type ItemLimits,
  type ItemOutcome,
  type RequestCounts,
} from './database/batch-progress.repository';
export { FAILURE_REASONS, failureMessage, type FailureReason } from './database/failure-reasons';
export { toStorableText, unstorableText } from './database/storable-text';
export {
  BATCH_ENDED_AT_SQL,
  batchEndedAt,
  canvasesExpireAt,
  resultsExpireAt,
} from './database/retention';
export {
  inTransaction,
  pgErrorCode,
  preparedRows,
  queryRows,
  rows,
  UNIQUE_VIOLATION,
} from './database/sql';
export {
  BATCH_STATUSES,
  ITEM_STATUSES,
  TERMINAL_BATCH_STATUSES,
  TERMINAL_ITEM_STATUSES,
  isTerminalBatchStatus,
  isTerminalItemStatus,
  TERMINAL_STATUSES_SQL,
  BATCH_ORIGINS,
  type BatchOrigin,
  type BatchStatus,
  type ItemStatus,
  type TerminalItemStatus,
} from './database/statuses';

export {
  CANCEL_CHANNEL,
  CHUNK_JOB,
  CHUNK_QUEUE,
  addChunkJobs,
  chunkJob,
  chunkJobId,
  chunkJobOptions,
  chunkJobs,
  chunkQueueName,
  chunkWorkerOptions,
  openChunkQueue,
  openChunkWorker,
  redisOptions,
  workerConcurrency,
  type ChunkJobData,
  type OwnedQueue,
} from './queue/chunk-queue';
export { ChunkQueues } from './queue/chunk-queues';
export { enqueueBatch } from './queue/enqueue-batch';
export { chunkStates, type ChunkState, type ChunkStatus } from './repair/chunk-states';
export { LeaderLease } from './repair/leader-lease';
export {
  RepairLoop,
  type PassReport,
  type RepairAction,
  type RepairOptions,
} from './repair/repair-loop';
export { repairLoopFor } from './repair/repair-loop-for';
export {
  INTERACTIVE_QUEUE,
  interactiveQueueName,
  INTERACTIVE_JOB,
  WEBHOOK_QUEUE,
  WEBHOOK_JOB,
  type InteractiveJobData,
  type WebhookJobData,
} from './queue/interactive-queue';
export {
  QUEUES,
  closeBounded,
  openConsumer,
  openQueue,
  type OwnedQueueOf,
  type QueueConsumer,
  type QueueKind,
  type QueueSpec,
} from './queue/queues';
export {
  BATCH_EVENTS_LIMITS,
  batchEventsKey,
  compareStreamIds,
  decodeEvent,
  encodeEvent,
  endedBatchesKey,
  eventsEpochKey,
  type BatchCounts,
  type BatchEnded,
  type BatchEvent,
  type BatchEventType,
  type CanvasFrame,
  type ItemEnded,
} from './events/batch-events';
export { BatchEventLog } from './events/batch-event-log';
