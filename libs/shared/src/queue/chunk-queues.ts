import type { Config } from '../config/config.schema';
import { openChunkQueue, type OwnedQueue } from './chunk-queue';

/**
 * The producer side of every model's chunk queue. The API enqueues into the queue of a batch's
 * model; the repair loop reads and repairs the queue of each open batch's model, whatever models
 * its own process serves (a batch row names its model, and its queue's name follows from it).
 *
 * The catalog's queues are opened at once: a producer connection fails commands fast instead of
 * queueing them (redisOptions), so a queue opened at its first use would fail that use while it
 * connects. A model met later (a batch of a model since dropped from the catalog) gets its queue
 * then, and is served from the next repair pass on.
 */
export class ChunkQueues {
  private readonly queues = new Map<string, OwnedQueue>();

  constructor(
    private readonly config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
    models: readonly string[],
    private readonly role: 'consumer' | 'producer' = 'producer',
  ) {
    for (const model of models) this.for(model);
  }

  /** The queue of `model`'s chunks. */
  for(model: string): OwnedQueue {
    let queue = this.queues.get(model);
    if (!queue) {
      queue = openChunkQueue(this.config, model, this.role);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** The queues opened so far, by model. */
  opened(): ReadonlyMap<string, OwnedQueue> {
    return this.queues;
  }

  async closeAll(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.closeAll()));
  }
}
