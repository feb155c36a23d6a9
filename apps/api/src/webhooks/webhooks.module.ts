import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { WEBHOOK_QUEUE, type Config, type WebhookJobData } from '@dllm/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BatchesModule } from '../batches/batches.module';
import { CONFIG } from '../common/core.module';
import { DatabaseModule } from '../database/database.module';
import { EventsModule } from '../events/events.module';
import { WebhookDelivery } from './webhook-delivery';
import { WEBHOOK_QUEUE_TOKEN, WebhookDispatcher } from './webhook-dispatcher';

/** Completion webhooks: queued from Postgres, delivered signed with retries (WEBHOOK_*). */
@Module({
  imports: [DatabaseModule, EventsModule, BatchesModule],
  providers: [
    WebhookDispatcher,
    WebhookDelivery,
    {
      provide: WEBHOOK_QUEUE_TOKEN,
      inject: [CONFIG],
      useFactory: (config: Config) =>
        new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
          prefix: config.QUEUE_PREFIX,
          connection: new Redis(config.REDIS_URL, {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
          }),
        }),
    },
  ],
})
export class WebhooksModule implements OnApplicationShutdown {
  constructor(@Inject(WEBHOOK_QUEUE_TOKEN) private readonly queue: Queue<WebhookJobData>) {}

  async onApplicationShutdown(): Promise<void> {
    const connection = this.queue.opts.connection as Redis;
    await this.queue.close();
    await connection.quit().catch(() => undefined);
  }
}
