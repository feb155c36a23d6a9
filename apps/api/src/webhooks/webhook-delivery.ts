import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  BatchEntity,
  openConsumer,
  type Config,
  type QueueConsumer,
  type WebhookJobData,
} from '@dllm/shared';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { BatchPresenter } from '../batches/batch-presenter';
import { CONFIG, LOGGER } from '../common/core.module';
import { webhookHeaders } from './webhook-signature';
import { isAllowedWebhookUrl } from './webhook-url';

/** The event type of an ended batch (OpenAI's names). */
const EVENT_TYPES: Record<string, string> = {
  completed: 'batch.completed',
  failed: 'batch.failed',
  cancelled: 'batch.cancelled',
  expired: 'batch.expired',
};

/**
 * Delivers the webhook jobs: a signed POST of `{id, object: "event", created_at, type, data}` to
 * the batch's webhook_url, retried with exponential backoff until the receiver answers 2xx
 * (WEBHOOK_ATTEMPTS tries). Redirects are not followed, and a URL no longer allowed by
 * WEBHOOK_ALLOWED_URLS is never called.
 */
@Injectable()
export class WebhookDelivery implements OnApplicationBootstrap, OnApplicationShutdown {
  private consumer: QueueConsumer<WebhookJobData> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly presenter: BatchPresenter,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.WEBHOOK_ALLOWED_URLS.length === 0) return;
    this.consumer = openConsumer<WebhookJobData>('webhooks', this.config, (job) =>
      this.deliver(job),
    );
    const { worker } = this.consumer;
    worker.on('failed', (job, err) =>
      this.logger.warn(
        { batch_id: job?.data.batchId, attempt: job?.attemptsMade, err: err.message },
        'webhook delivery failed',
      ),
    );
    worker.on('error', (err) => this.logger.error({ err: err.message }, 'webhook queue error'));
  }

  async onApplicationShutdown(): Promise<void> {
    // bounded (WEBHOOK_DRAIN_MS): a delivery cut short is tried again (at least once)
    await this.consumer?.close();
  }

  async deliver(job: Job<WebhookJobData>): Promise<void> {
    const batch = await this.dataSource
      .getRepository(BatchEntity)
      .findOneBy({ id: job.data.batchId });
    if (!batch?.webhookUrl)
      throw new UnrecoverableError(`batch ${job.data.batchId} has no webhook`);
    if (!isAllowedWebhookUrl(batch.webhookUrl, this.config.WEBHOOK_ALLOWED_URLS)) {
      throw new UnrecoverableError(
        `${batch.webhookUrl} is no longer allowed (WEBHOOK_ALLOWED_URLS)`,
      );
    }
    const id = `evt_${batch.id}`;
    const body = JSON.stringify({
      id,
      object: 'event',
      created_at: Math.floor(Date.now() / 1000),
      type: EVENT_TYPES[batch.status] ?? `batch.${batch.status}`,
      data: await this.presenter.present(batch),
    });
    const response = await fetch(batch.webhookUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'dllm-batch-webhooks',
        ...webhookHeaders(this.config.WEBHOOK_SECRET!, id, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`the receiver answered ${response.status}`);
    }
    await this.dataSource.query(`UPDATE batches SET webhook_delivered_at = now() WHERE id = $1`, [
      batch.id,
    ]);
    this.logger.info(
      { batch_id: batch.id, url: batch.webhookUrl, attempt: job.attemptsMade + 1 },
      'webhook delivered',
    );
  }
}
