import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchProgressRepository, dataSourceOptions, type Config } from '@dllm/shared';
import { DataSource } from 'typeorm';
import { CONFIG } from '../common/core.module';

/** The Postgres DataSource (schema by migration only) and the shared item-state writer. */
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
  ],
  providers: [
    {
      provide: BatchProgressRepository,
      inject: [DataSource, CONFIG],
      useFactory: (dataSource: DataSource, config: Config) =>
        new BatchProgressRepository(dataSource, {
          maxAttempts: config.ITEM_MAX_ATTEMPTS,
          poisonRuns: config.ITEM_POISON_RUNS,
        }),
    },
  ],
  exports: [BatchProgressRepository],
})
export class DatabaseModule {}
