import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { openChunkQueue, type Config, type OwnedQueue } from '@dllm/shared';
import { Redis } from 'ioredis';
import { CONFIG } from '../common/core.module';

/** Plain Redis client: readiness pings and cancel notices (pub/sub publish). */
export const REDIS = Symbol('REDIS');
/** Producer side of the chunk queue. */
export const CHUNK_QUEUE_TOKEN = Symbol('CHUNK_QUEUE');

export type ChunkQueue = OwnedQueue;

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
      // fails fast while Redis is away (see redisOptions): the repair loop enqueues later
      useFactory: (config: Config): ChunkQueue => openChunkQueue(config, 'producer'),
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
    await this.queue.closeAll();
    await this.redis.quit().catch(() => undefined);
  }
}
