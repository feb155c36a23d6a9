import { Inject, Injectable } from '@nestjs/common';
import { chunkJobOptions, enqueueBatch, type ChunkQueues, type Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';
import { CHUNK_QUEUES } from '../redis/redis.module';

/**
 * Puts a committed batch's chunk jobs in Redis, then stamps enqueued_at (libs/shared
 * enqueueBatch: idempotent by job id, so the repair loop may do it again after a crash).
 */
@Injectable()
export class ChunkEnqueuer {
  constructor(
    @Inject(CHUNK_QUEUES) private readonly queues: ChunkQueues,
    private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Into the queue of the batch's model. true once every chunk is queued; false (logged) when
   * Redis failed: the repair loop retries.
   */
  async enqueue(batch: { id: string; totalCount: number; model: string }): Promise<boolean> {
    const batchId = batch.id;
    try {
      await enqueueBatch(
        this.queues.for(batch.model),
        this.dataSource,
        { id: batchId, totalCount: batch.totalCount },
        this.config.BATCH_CHUNK_SIZE,
        chunkJobOptions(this.config),
      );
      return true;
    } catch (error) {
      this.logger.warn(
        { err: loggableError(error), batch_id: batchId },
        'enqueue failed; the repair loop will retry',
      );
      return false;
    }
  }
}
