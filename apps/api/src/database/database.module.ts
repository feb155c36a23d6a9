import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  BatchEventLog,
  BatchProgressRepository,
  dataSourceOptions,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { REDIS, RedisModule } from '../redis/redis.module';

/**
 * The Postgres DataSource (schema by migration only) and the shared item-state writer, which
 * announces what each commit changed on the live event path (cancel, expiry, repair).
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [CONFIG],
      useFactory: (config: Config) => ({
        ...dataSourceOptions(config),
        // Fail start-up soon when Postgres is away: the orchestrator restarts us.
        retryAttempts: 3,
        retryDelay: 1000,
      }),
    }),
    RedisModule,
  ],
  providers: [
    {
      provide: BatchEventLog,
      inject: [REDIS, DataSource, CONFIG, LOGGER],
      useFactory: (redis: Redis, dataSource: DataSource, config: Config, logger: Logger) =>
        new BatchEventLog(
          redis,
          config.QUEUE_PREFIX,
          dataSource,
          (message, detail) => logger.warn(detail, message),
          config.CANVAS_RETENTION_S,
        ),
    },
    {
      provide: BatchProgressRepository,
      inject: [DataSource, CONFIG, BatchEventLog],
      useFactory: (dataSource: DataSource, config: Config, events: BatchEventLog) =>
        new BatchProgressRepository(
          dataSource,
          { maxAttempts: config.ITEM_MAX_ATTEMPTS, poisonRuns: config.ITEM_POISON_RUNS },
          events,
        ),
    },
  ],
  exports: [BatchProgressRepository, BatchEventLog],
})
export class DatabaseModule {}
