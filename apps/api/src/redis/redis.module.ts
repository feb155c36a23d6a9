import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CHUNK_QUEUE, type ChunkJobData, type Config } from '@dllm/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CONFIG } from '../common/core.module';

/** Plain Redis client: readiness pings and cancel notices (pub/sub publish). */
export const REDIS = Symbol('REDIS');
/** Producer side of the chunk queue. */
export const CHUNK_QUEUE_TOKEN = Symbol('CHUNK_QUEUE');

export type ChunkQueue = Queue<ChunkJobData>;

@Module({
  providers: [
    {
      provide: REDIS,
      inject: [CONFIG],
      // Fail commands at once while Redis is away instead of queueing them in memory: callers
      // (readiness, enqueue) report the outage and the reconciler retries later.
      useFactory: (config: Config) =>
        new Redis(config.REDIS_URL, { enableOfflineQueue: false, lazyConnect: false }),
    },
    {
      provide: CHUNK_QUEUE_TOKEN,
      inject: [CONFIG],
      useFactory: (config: Config): ChunkQueue =>
        new Queue<ChunkJobData>(CHUNK_QUEUE, {
          prefix: config.QUEUE_PREFIX,
          connection: new Redis(config.REDIS_URL, {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
          }),
        }),
    },
  ],
  exports: [REDIS, CHUNK_QUEUE_TOKEN],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CHUNK_QUEUE_TOKEN) private readonly queue: ChunkQueue,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // BullMQ leaves a connection it was handed open; it is ours to close.
    const connection = this.queue.opts.connection as Redis;
    await this.queue.close();
    await connection.quit().catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
  }
}
