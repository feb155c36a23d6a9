import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';
import { BatchStreams } from './batch-streams';
import { BatchWatcher } from './batch-watcher';
import { BatchesController } from './batches.controller';
import { BatchesRepository } from './batches.repository';
import { BatchesService } from './batches.service';
import { ChunkEnqueuer } from './chunk-enqueuer';
import { Reconciler } from './reconciler';
import { submissionRulesProvider } from './submission/submission-rules.provider';

@Module({
  imports: [DatabaseModule, RedisModule, MetricsModule],
  controllers: [BatchesController],
  providers: [
    BatchesService,
    BatchesRepository,
    BatchStreams,
    BatchWatcher,
    ChunkEnqueuer,
    Reconciler,
    submissionRulesProvider,
  ],
  exports: [Reconciler, BatchesRepository],
})
export class BatchesModule {}
