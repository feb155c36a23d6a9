import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { openQueue, type Config, type OwnedQueueOf, type WebhookJobData } from '@dllm/shared';
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
      useFactory: (config: Config) => openQueue<WebhookJobData>('webhooks', config),
    },
  ],
})
export class WebhooksModule implements OnApplicationShutdown {
  constructor(@Inject(WEBHOOK_QUEUE_TOKEN) private readonly queue: OwnedQueueOf<WebhookJobData>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.closeAll();
  }
}
