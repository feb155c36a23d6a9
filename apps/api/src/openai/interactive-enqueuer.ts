import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { chunkJobId, QUEUES, type Config, type InteractiveJobData } from '@dllm/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';

/**
 * Puts a one-item interactive batch in its model's interactive queue (never behind bulk chunks;
 * only workers serving that model consume it). The queues share one producer connection.
 */
@Injectable()
export class InteractiveEnqueuer implements OnApplicationShutdown {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue<InteractiveJobData>>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // fails fast while Redis is away: the request answers 503 instead of hanging
    this.connection = new Redis(config.REDIS_URL, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    this.connection.on('error', () => undefined);
  }

  /** The interactive queue of `model` (Bull Board shows them too). */
  queueFor(model: string): Queue<InteractiveJobData> {
    let queue = this.queues.get(model);
    if (!queue) {
      queue = new Queue<InteractiveJobData>(QUEUES.interactive.name(model), {
        prefix: this.config.QUEUE_PREFIX,
        connection: this.connection,
      });
      queue.on('error', () => undefined);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** true once queued; false (logged) when Redis failed. */
  async enqueue(batch: { id: string; model: string }): Promise<boolean> {
    const batchId = batch.id;
    try {
      await this.queueFor(batch.model).add(
        QUEUES.interactive.job,
        { batchId, chunk: 0, firstIndex: 0, lastIndex: 0 },
        { ...QUEUES.interactive.jobOptions(this.config), jobId: chunkJobId(batchId, 0) },
      );
      // Off the request's path (the worker may already run it): stamped for the repair loop,
      // which skips an enqueued batch's stranded-enqueue pass and names its one chunk (chunk_size
      // 1) as the job is named. Should the stamp fail, the repair loop enqueues the batch again
      // after ENQUEUE_GRACE_MS (a chunk job of the same id): its claim finds the item ended, or at
      // worst runs it again, and only the first result is kept.
      void this.dataSource
        .query(
          `UPDATE batches SET enqueued_at = now(), chunk_size = 1 WHERE id = $1 AND enqueued_at IS NULL`,
          [batchId],
        )
        .catch((error: unknown) =>
          this.logger.warn(
            { err: loggableError(error), batch_id: batchId },
            'interactive batch not stamped enqueued; the repair loop will enqueue it again',
          ),
        );
      return true;
    } catch (error) {
      this.logger.warn(
        { err: loggableError(error), batch_id: batchId, model: batch.model },
        'interactive enqueue failed',
      );
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // BullMQ leaves a connection it was handed open; it is ours to close.
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    await this.connection.quit().catch(() => undefined);
  }
}
