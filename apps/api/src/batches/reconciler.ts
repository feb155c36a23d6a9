import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BatchProgressRepository, type Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';
import { MetricsService } from '../metrics/metrics.service';
import { BatchesRepository } from './batches.repository';
import { ChunkEnqueuer } from './chunk-enqueuer';

/** Batches handled per pass and kind; a backlog drains over several passes. */
const PER_PASS = 100;

/**
 * Periodic repair in every API process: re-enqueues batches committed but never enqueued
 * (the process died between commit and enqueue, or Redis was away), and expires open batches
 * past their deadline. Both are safe to run in several processes at once: enqueueing is
 * idempotent by job id and expiry locks the batch row.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly batches: BatchesRepository,
    private readonly progress: BatchProgressRepository,
    private readonly enqueuer: ChunkEnqueuer,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; overlapping calls share the pass in flight. Never throws (errors are logged). */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      for (const batch of await this.batches.stranded(this.config.ENQUEUE_GRACE_MS, PER_PASS)) {
        if (await this.enqueuer.enqueue(batch.id, batch.total_count)) {
          this.metrics.reconcilerActions.inc({ action: 'enqueued' });
          this.logger.info({ batch_id: batch.id }, 'reconciler enqueued a stranded batch');
        }
      }
      for (const id of await this.batches.overdue(PER_PASS)) {
        const after = await this.progress.expireBatch(id);
        this.metrics.reconcilerActions.inc({ action: 'expired' });
        this.logger.info(
          { batch_id: id, status: after?.status, counts: after?.counts },
          'reconciler expired a batch',
        );
      }
    } catch (error) {
      this.logger.error({ err: loggableError(error) }, 'reconciler pass failed');
    }
  }
}
