import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { INTERACTIVE_QUEUE, type Config, type InteractiveJobData } from '@dllm/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
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
      useFactory: (config: Config) =>
        new Queue<InteractiveJobData>(INTERACTIVE_QUEUE, {
          prefix: config.QUEUE_PREFIX,
          connection: new Redis(config.REDIS_URL, {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
          }),
        }),
    },
  ],
})
export class OpenAiModule implements OnApplicationShutdown {
  constructor(@Inject(INTERACTIVE_QUEUE_TOKEN) private readonly queue: Queue<InteractiveJobData>) {}

  async onApplicationShutdown(): Promise<void> {
    // BullMQ leaves a connection it was handed open; it is ours to close.
    const connection = this.queue.opts.connection as Redis;
    await this.queue.close();
    await connection.quit().catch(() => undefined);
  }
}
