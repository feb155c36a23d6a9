import { Module } from '@nestjs/common';
import { BatchesModule } from '../batches/batches.module';
import { DatabaseModule } from '../database/database.module';
import { EventsModule } from '../events/events.module';
import { RedisModule } from '../redis/redis.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';
import { InteractiveEnqueuer } from './interactive-enqueuer';
import { ModelsController } from './models.controller';

/** OpenAI's /v1/models and the synchronous /v1/completions, /v1/chat/completions. */
@Module({
  imports: [DatabaseModule, RedisModule, EventsModule, BatchesModule],
  controllers: [ModelsController, CompletionsController],
  providers: [CompletionsService, InteractiveEnqueuer],
})
export class OpenAiModule {}
