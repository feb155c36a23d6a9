import { Inject, Injectable } from '@nestjs/common';
import { chunkJobId, QUEUES, type Config, type InteractiveJobData } from '@dllm/shared';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';

export const INTERACTIVE_QUEUE_TOKEN = Symbol('INTERACTIVE_QUEUE');

/** Puts a one-item interactive batch in the interactive queue (never behind bulk chunks). */
@Injectable()
export class InteractiveEnqueuer {
  constructor(
    @Inject(INTERACTIVE_QUEUE_TOKEN) private readonly queue: Queue<InteractiveJobData>,
    private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** true once queued; false (logged) when Redis failed. */
  async enqueue(batchId: string): Promise<boolean> {
    try {
      await this.queue.add(
        QUEUES.interactive.job,
        { batchId, chunk: 0, firstIndex: 0, lastIndex: 0 },
        { ...QUEUES.interactive.jobOptions(this.config), jobId: chunkJobId(batchId, 0) },
      );
      // chunk_size 1: the repair loop names its one chunk as the job is named
      await this.dataSource.query(
        `UPDATE batches SET enqueued_at = now(), chunk_size = 1 WHERE id = $1 AND enqueued_at IS NULL`,
        [batchId],
      );
      return true;
    } catch (error) {
      this.logger.warn(
        { err: loggableError(error), batch_id: batchId },
        'interactive enqueue failed',
      );
      return false;
    }
  }
}
