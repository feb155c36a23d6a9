import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { openQueue, type Config, type InteractiveJobData, type OwnedQueueOf } from '@dllm/shared';
import { BatchesModule } from '../batches/batches.module';
import { CONFIG } from '../common/core.module';
import { DatabaseModule } from '../database/database.module';
import { EventsModule } from '../events/events.module';
import { RedisModule } from '../redis/redis.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';
import { INTERACTIVE_QUEUE_TOKEN, InteractiveEnqueuer } from './interactive-enqueuer';
import { ModelsController } from './models.controller';

/** OpenAI's /v1/models and the synchronous /v1/completions, /v1/chat/completions. */
@Module({
  imports: [DatabaseModule, RedisModule, EventsModule, BatchesModule],
  controllers: [ModelsController, CompletionsController],
  providers: [
    CompletionsService,
    InteractiveEnqueuer,
    {
      provide: INTERACTIVE_QUEUE_TOKEN,
      inject: [CONFIG],
      useFactory: (config: Config) => openQueue<InteractiveJobData>('interactive', config),
    },
  ],
})
export class OpenAiModule implements OnApplicationShutdown {
  constructor(
    @Inject(INTERACTIVE_QUEUE_TOKEN) private readonly queue: OwnedQueueOf<InteractiveJobData>,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.closeAll();
  }
}
