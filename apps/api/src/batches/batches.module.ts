import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { EventsModule } from '../events/events.module';
import { FilesModule } from '../files/files.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';
import { BatchPresenter } from './batch-presenter';
import { BatchStreams } from './batch-streams';
import { BatchWatcher } from './batch-watcher';
import { BatchesController } from './batches.controller';
import { BatchesRepository } from './batches.repository';
import { BatchesService } from './batches.service';
import { ChunkEnqueuer } from './chunk-enqueuer';
import { OpenAiBatches } from './openai-batches';
import { Reconciler } from './reconciler';
import { CanvasController } from './canvas/canvas.controller';
import { CanvasStream } from './canvas/canvas-stream';
import { BatchRetryController } from './retry/batch-retry.controller';
import { BatchRetryRepository } from './retry/batch-retry.repository';
import { BatchRetryService } from './retry/batch-retry.service';
import { BatchStatsController } from './stats/batch-stats.controller';
import { BatchStatsRepository } from './stats/batch-stats.repository';
import { BatchStatsService } from './stats/batch-stats.service';

// SUBMISSION_RULES comes from the global ModelModule (the served model is read once).
@Module({
  imports: [DatabaseModule, RedisModule, EventsModule, MetricsModule, FilesModule],
  controllers: [BatchesController, BatchRetryController, BatchStatsController, CanvasController],
  providers: [
    BatchesService,
    BatchesRepository,
    BatchStreams,
    BatchWatcher,
    ChunkEnqueuer,
    Reconciler,
    BatchPresenter,
    OpenAiBatches,
    BatchRetryService,
    BatchRetryRepository,
    BatchStatsService,
    BatchStatsRepository,
    CanvasStream,
  ],
  exports: [Reconciler, BatchesRepository, BatchesService, ChunkEnqueuer, BatchPresenter],
})
export class BatchesModule {}
