import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { FilesModule } from '../files/files.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';
import { BatchPresenter } from './batch-presenter';
import { BatchStreams } from './batch-streams';
import { BatchesController } from './batches.controller';
import { BatchesRepository } from './batches.repository';
import { BatchesService } from './batches.service';
import { ChunkEnqueuer } from './chunk-enqueuer';
import { OpenAiBatches } from './openai-batches';
import { Reconciler } from './reconciler';

@Module({
  imports: [DatabaseModule, RedisModule, MetricsModule, FilesModule],
  controllers: [BatchesController],
  providers: [
    BatchesService,
    BatchesRepository,
    BatchStreams,
    ChunkEnqueuer,
    Reconciler,
    BatchPresenter,
    OpenAiBatches,
  ],
  exports: [Reconciler, BatchesRepository, BatchesService, ChunkEnqueuer, BatchPresenter],
})
export class BatchesModule {}
