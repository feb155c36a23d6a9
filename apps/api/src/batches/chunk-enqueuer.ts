import { Inject, Injectable } from '@nestjs/common';
import { CHUNK_JOB, chunkJobId, chunkJobOptions, chunkJobs, type Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';
import { CHUNK_QUEUE_TOKEN, type ChunkQueue } from '../redis/redis.module';
import { BatchesRepository } from './batches.repository';

/** Jobs per addBulk call: one Redis round trip each, without one huge MULTI. */
const JOBS_PER_CALL = 1000;

/**
 * Puts a committed batch's chunk jobs in Redis, then stamps enqueued_at. Job ids are
 * deterministic, so doing it twice (the API, then the reconciler after a crash) adds nothing.
 */
@Injectable()
export class ChunkEnqueuer {
  constructor(
    @Inject(CHUNK_QUEUE_TOKEN) private readonly queue: ChunkQueue,
    private readonly batches: BatchesRepository,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** true once every chunk is queued; false (logged) when Redis failed: the reconciler retries. */
  async enqueue(batchId: string, totalItems: number): Promise<boolean> {
    const options = chunkJobOptions(this.config);
    const jobs = chunkJobs(batchId, totalItems, this.config.BATCH_CHUNK_SIZE).map((data) => ({
      name: CHUNK_JOB,
      data,
      opts: { ...options, jobId: chunkJobId(batchId, data.chunk) },
    }));
    try {
      for (let start = 0; start < jobs.length; start += JOBS_PER_CALL) {
        await this.queue.addBulk(jobs.slice(start, start + JOBS_PER_CALL));
      }
      await this.batches.markEnqueued(batchId);
      return true;
    } catch (error) {
      this.logger.warn(
        { err: loggableError(error), batch_id: batchId },
        'enqueue failed; the reconciler will retry',
      );
      return false;
    }
  }
}
