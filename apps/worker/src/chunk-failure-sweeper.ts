import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CHUNK_QUEUE, type BatchProgressRepository, type ChunkJobData } from '@dllm/shared';

/**
 * When BullMQ gives up on a chunk for good (retries spent, or its workers kept dying until
 * maxStalledCount), the chunk's unfinished items would stay queued/in_progress and hold their
 * batch open forever. This ends them as failed, with the reason, so the batch can close. Every
 * worker hears the event; the write is idempotent, so the first one wins and the rest change nothing.
 */
export class ChunkFailureSweeper {
  private readonly events: QueueEvents;
  private readonly queue: Queue<ChunkJobData>;
  // BullMQ never closes connections it was handed, so the sweeper keeps and closes its own
  private readonly connections: Redis[];

  constructor(
    connect: () => Redis,
    prefix: string,
    private readonly progress: Pick<BatchProgressRepository, 'finishItems'>,
    private readonly log: Logger,
  ) {
    this.connections = [connect(), connect()];
    this.events = new QueueEvents(CHUNK_QUEUE, { connection: this.connections[0]!, prefix });
    this.queue = new Queue<ChunkJobData>(CHUNK_QUEUE, { connection: this.connections[1]!, prefix });
  }

  /** Resolves once it listens: a chunk that fails before then is not seen by this sweeper. */
  async start(): Promise<void> {
    this.events.on('failed', ({ jobId, failedReason }) => {
      void this.sweep(jobId, failedReason).catch((err: Error) => this.log.error({ job_id: jobId, err: err.message }, 'could not fail the items of a dead chunk'));
    });
    await this.events.waitUntilReady();
  }

  async sweep(jobId: string, reason: string): Promise<number> {
    const job = await this.queue.getJob(jobId);
    if (!job) return 0;
    const { batchId, chunk, firstIndex, lastIndex } = job.data;
    const error = `chunk ${chunk} failed for good after ${job.attemptsMade} attempt(s): ${reason}`;
    const outcomes = [];
    for (let index = firstIndex; index <= lastIndex; index++) outcomes.push({ batchId, index, status: 'failed' as const, error });
    const [progress] = await this.progress.finishItems(outcomes);
    if (progress?.written) this.log.warn({ batch_id: batchId, chunk, failed_items: progress.written, reason }, 'failed the unfinished items of a dead chunk');
    return progress?.written ?? 0;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const c of this.connections) c.disconnect();
  }
}
