import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  BatchEventLog,
  BatchProgressRepository,
  type ChunkQueues,
  repairLoopFor,
  type Config,
  type PassReport,
  type RepairLoop,
} from '@dllm/shared';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { MetricsService } from '../metrics/metrics.service';
import { CHUNK_QUEUES } from '../redis/redis.module';

/**
 * The repair loop (libs/shared RepairLoop) in the API process. Every API replica and every
 * worker runs one; a Postgres advisory lock lets exactly one of them act at a time. The API
 * takes part because it is up when no worker is (deadlines, cancellations, enqueueing for
 * workers still to come); workers take part because they are up while the API restarts.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly loop: RepairLoop;

  constructor(
    dataSource: DataSource,
    progress: BatchProgressRepository,
    events: BatchEventLog,
    @Inject(CHUNK_QUEUES) queues: ChunkQueues,
    metrics: MetricsService,
    @Inject(CONFIG) config: Config,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.loop = repairLoopFor(config, {
      dataSource,
      queueFor: (model) => queues.for(model),
      progress,
      events,
      log: logger.child({ component: 'repair' }),
      onAction: (action, count) => metrics.reconcilerActions.inc({ action }, count),
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass now (tests, and nothing else, call this by hand). */
  runOnce(): Promise<PassReport> {
    return this.loop.runOnce();
  }
}
