import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  QUEUES,
  TERMINAL_STATUSES_SQL,
  WEBHOOK_JOB,
  type Config,
  type WebhookJobData,
} from '@dllm/shared';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';
import { BatchEventReader } from '../events/batch-event-reader';

export const WEBHOOK_QUEUE_TOKEN = Symbol('WEBHOOK_QUEUE');

/** Batches handled per pass; a backlog drains over several passes. */
const PER_PASS = 100;

/**
 * Puts a delivery job in the webhook queue for every ended batch that asked for a webhook: at
 * once when its batch-ended event is heard, and, as repair, from Postgres (the truth) every
 * RECONCILE_INTERVAL_MS, so whoever ended the batch (a worker, a cancel, expiry) and whatever
 * crashed or was lost in between, the notice is queued: at least once. The job id is the batch's,
 * so several API processes queue it once.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopListening: (() => void) | undefined;
  private readonly dispatching = new Set<Promise<number>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: BatchEventReader,
    @Inject(WEBHOOK_QUEUE_TOKEN) private readonly queue: Queue<WebhookJobData>,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.WEBHOOK_ALLOWED_URLS.length === 0) return;
    this.stopListening = this.events.onEnded((batchId) => {
      const work = this.pass(batchId).finally(() => this.dispatching.delete(work));
      this.dispatching.add(work);
    });
    this.timer = setInterval(() => void this.runOnce(), this.config.RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopListening?.();
    clearInterval(this.timer);
    await Promise.allSettled([this.running, ...this.dispatching]);
  }

  /** One repair pass; returns how many notices it queued. Never throws (errors are logged). */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Queues the due notices: of every ended batch, or of the one batch `only`. */
  private async pass(only?: string): Promise<number> {
    let queued = 0;
    try {
      const due = await this.dataSource.query<{ id: string }[]>(
        `SELECT id FROM batches
         WHERE webhook_url IS NOT NULL AND webhook_enqueued_at IS NULL
           AND status IN ${TERMINAL_STATUSES_SQL}
           AND ($2::uuid IS NULL OR id = $2::uuid)
         LIMIT $1`,
        [PER_PASS, only ?? null],
      );
      for (const { id } of due) {
        await this.queue.add(
          WEBHOOK_JOB,
          { batchId: id },
          { ...QUEUES.webhooks.jobOptions(this.config), jobId: `webhook_${id}` },
        );
        await this.dataSource.query(
          `UPDATE batches SET webhook_enqueued_at = now() WHERE id = $1 AND webhook_enqueued_at IS NULL`,
          [id],
        );
        queued++;
      }
    } catch (error) {
      this.logger.error({ err: loggableError(error) }, 'webhook dispatch pass failed');
    }
    return queued;
  }
}
