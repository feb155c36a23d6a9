import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ChunkQueues, type Config } from '@dllm/shared';
import { Redis } from 'ioredis';
import { CONFIG } from '../common/core.module';
import { MODEL_CATALOG, type ModelCatalog } from '../model/served-model';

/** Plain Redis client: readiness pings and cancel notices (pub/sub publish). */
export const REDIS = Symbol('REDIS');
/** Producer side of every model's chunk queue (ChunkQueues). */
export const CHUNK_QUEUES = Symbol('CHUNK_QUEUES');

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
      provide: CHUNK_QUEUES,
      inject: [CONFIG, MODEL_CATALOG],
      // fails fast while Redis is away (see redisOptions): the repair loop enqueues later
      useFactory: (config: Config, models: ModelCatalog) =>
        new ChunkQueues(
          config,
          models.map((m) => m.name),
          'producer',
        ),
    },
  ],
  exports: [REDIS, CHUNK_QUEUES],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CHUNK_QUEUES) private readonly queues: ChunkQueues,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queues.closeAll();
    await this.redis.quit().catch(() => undefined);
  }
}
