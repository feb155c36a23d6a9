import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  BATCH_ENDED_AT_SQL,
  batchEventsKey,
  LeaderLease,
  TERMINAL_STATUSES_SQL,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { FILE_STORE } from '../files/files.tokens';
import type { FileStore } from '../files/file-store';
import { REDIS } from '../redis/redis.module';

/** Batches and files looked at per pass; a backlog drains over several passes. */
const BATCHES_PER_PASS = 100;
const FILES_PER_PASS = 1000;
/** File rows per DELETE: each may carry its content (file_contents, up to FILE_MAX_MB). */
const FILES_PER_DELETE = 50;

export interface SweepReport {
  /** false: another process holds the cleanup lease, nothing was done here */
  leader: boolean;
  files: number;
  batches: number;
  items: number;
}

/**
 * The cleanup job: deletes what has expired.
 * - uploaded files past their expires_at (an upload's expires_after, else FILE_RETENTION_S);
 * - the items (results) and the output and error files of batches ended more than
 *   RESULT_RETENTION_S ago, and their Redis event stream (canvases); the batch row stays, marked
 *   results_purged_at, and reads of its results answer 410.
 * Every API process runs it on RETENTION_SWEEP_INTERVAL_MS; a Postgres advisory lock
 * (LeaderLease, released by Postgres when its holder dies) lets exactly one act. Items go in
 * DELETEs of RETENTION_DELETE_ROWS, each its own short transaction, so a 100,000-item batch never
 * holds row locks for long or blocks the writers of other batches.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly lease: LeaderLease;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepReport> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(FILE_STORE) private readonly store: FileStore,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.lease = new LeaderLease(config.DATABASE_URL, `dllm-retention:${config.QUEUE_PREFIX}`);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.RETENTION_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.lease.release();
  }

  /** One pass (overlapping calls share the one in flight). Never throws: errors are logged. */
  runOnce(): Promise<SweepReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<SweepReport> {
    const report: SweepReport = { leader: false, files: 0, batches: 0, items: 0 };
    if (!(await this.lease.acquire())) return report;
    report.leader = true;
    try {
      await this.sweepFiles(report);
      await this.sweepResults(report);
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message },
        'retention sweep failed; next pass retries',
      );
    }
    if (report.files + report.batches > 0) this.logger.info(report, 'retention sweep deleted');
    return report;
  }

  private async sweepFiles(report: SweepReport): Promise<void> {
    const due = await this.dataSource.query<{ id: string; storage: 'postgres' | 'directory' }[]>(
      `SELECT id, storage FROM files
       WHERE batch_id IS NULL AND expires_at IS NOT NULL AND expires_at <= now()
       ORDER BY expires_at LIMIT $1`,
      [FILES_PER_PASS],
    );
    for (let start = 0; start < due.length; start += FILES_PER_DELETE) {
      const group = due.slice(start, start + FILES_PER_DELETE);
      // the rows first (their contents go with them): a file is gone once its row is
      await this.dataSource.query(`DELETE FROM files WHERE id = ANY($1::varchar[])`, [
        group.map((f) => f.id),
      ]);
      for (const file of group) await this.store.remove(file).catch(() => undefined);
      report.files += group.length;
    }
  }

  private async sweepResults(report: SweepReport): Promise<void> {
    const retentionS = this.config.RESULT_RETENTION_S;
    if (retentionS === 0) return;
    const due = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM batches
       WHERE results_purged_at IS NULL AND status IN ${TERMINAL_STATUSES_SQL}
         AND ${BATCH_ENDED_AT_SQL} <= now() - make_interval(secs => $1)
       ORDER BY ${BATCH_ENDED_AT_SQL} LIMIT $2`,
      [retentionS, BATCHES_PER_PASS],
    );
    for (const { id } of due) {
      report.items += await this.purgeItems(id);
      // last, in one statement each: a pass cut short leaves the batch due, never half-marked
      await this.dataSource.query(`DELETE FROM files WHERE batch_id = $1`, [id]);
      await this.dataSource.query(`UPDATE batches SET results_purged_at = now() WHERE id = $1`, [
        id,
      ]);
      await this.redis
        .del(batchEventsKey(this.config.QUEUE_PREFIX, id))
        .catch(() => undefined /* its TTL (CANVAS_RETENTION_S) removes it anyway */);
      report.batches++;
    }
  }

  /** Deletes a batch's items RETENTION_DELETE_ROWS at a time; returns how many. */
  private async purgeItems(batchId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const [{ n }] = await this.dataSource.query<[{ n: number }]>(
        `WITH gone AS (
           DELETE FROM batch_items WHERE batch_id = $1 AND index IN (
             SELECT index FROM batch_items WHERE batch_id = $1 ORDER BY index LIMIT $2)
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [batchId, this.config.RETENTION_DELETE_ROWS],
      );
      total += n;
      if (n < this.config.RETENTION_DELETE_ROWS) return total;
    }
  }
}
