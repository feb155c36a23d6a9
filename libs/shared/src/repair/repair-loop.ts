import type { JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { BatchProgressRepository, ChunkEnding } from '../database/batch-progress.repository';
import {
  CHUNK_JOB,
  chunkJob,
  chunkJobId,
  type ChunkJobData,
  type OwnedQueue,
} from '../queue/chunk-queue';
import { enqueueBatch } from '../queue/enqueue-batch';
import type { BatchEventLog } from '../events/batch-event-log';
import { chunkStates, type ChunkState } from './chunk-states';
import { LeaderLease } from './leader-lease';

/** Batches looked at per pass and kind; a backlog drains over several passes. */
const BATCHES_PER_PASS = 100;

export type RepairAction =
  /** a committed batch never enqueued (crash between commit and enqueue) was enqueued */
  | 'enqueued'
  /** a chunk job missing, failed or orphaned was put back (same job id) */
  | 'requeued'
  /** items ended by the repair loop: cancelled, expired, or failed with a reason */
  | 'ended'
  /** ended batches whose batch-ended event was appended again (lost, or never appended) */
  | 'announced'
  /** batches whose not-started items expired at their deadline */
  | 'expired';

export interface RepairOptions {
  dataSource: DataSource;
  /**
   * producer side of each model's chunk queue (ChunkQueues.for); the leader also reads job states
   * through the queue's connection. Every open batch is repaired in its own model's queue.
   */
  queueFor: (model: string) => OwnedQueue;
  progress: Pick<BatchProgressRepository, 'endChunk' | 'expireBatch'>;
  /** re-derives the ended events an outage or a Redis flush lost (none: not this loop's job) */
  events?: Pick<BatchEventLog, 'rederiveEnded'>;
  databaseUrl: string;
  /** names the leader lock: one leader per deployment (QUEUE_PREFIX) and database */
  leaseName: string;
  intervalMs: number;
  /** a missing or orphaned chunk is re-enqueued once seen so for this long */
  graceMs: number;
  /** a batch still not enqueued this long after its commit is stranded */
  enqueueGraceMs: number;
  /** chunk size of batches enqueued before chunk_size was recorded */
  defaultChunkSize: number;
  /** chunk size for batches the loop enqueues itself */
  chunkSize: number;
  jobOptions: JobsOptions;
  log: Logger;
  onAction?: (action: RepairAction, count: number) => void;
}

export interface PassReport {
  leader: boolean;
  enqueued: number;
  requeued: number;
  ended: number;
  expired: number;
  announced: number;
}

interface OpenBatch {
  id: string;
  model: string;
  status: string;
  origin: string;
  created_at: Date;
  expired: boolean;
  total_count: number;
  chunk_size: number;
}

/**
 * Postgres is the truth, Redis a work list. One leader at a time (LeaderLease) compares the open
 * items of open batches with the chunk jobs in Redis and repairs whatever lost its job:
 * - a chunk whose job is missing (Redis flushed or lost), failed (retries spent during a Postgres
 *   outage), or orphaned (active, lock gone, nobody to notice) is re-enqueued with the same job
 *   id, after its items past the attempt limits fail with their reason (poison, attempts_exhausted);
 * - a cancelling batch's chunks that no worker holds are cancelled; a batch past its deadline
 *   has its unheld items expired (not started) or failed as no_worker (started, worker gone);
 * - a batch committed but never enqueued is enqueued;
 * - an ended batch whose batch-ended event never reached Redis, or was lost with a flush, is
 *   announced again (the live event path's consumers hear it then).
 * It needs no event to act, so it catches up after any outage, whoever was listening then.
 * Runs in every API and worker process; only the lease holder acts.
 */
export class RepairLoop {
  private readonly lease: LeaderLease;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassReport> | undefined;
  /** chunk job id -> first time it was seen missing/orphaned (the grace before acting) */
  private readonly suspicious = new Map<string, { state: ChunkState; since: number }>();
  /** keyset position of the last batch looked at: passes take turns over a long list */
  private cursor: { createdAt: Date; id: string } | null = null;

  constructor(private readonly opts: RepairOptions) {
    this.lease = new LeaderLease(opts.databaseUrl, opts.leaseName);
  }

  get isLeader(): boolean {
    return this.lease.isHeld;
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.lease.release();
  }

  /** One pass (overlapping calls share the one in flight). Never throws: errors are logged. */
  runOnce(): Promise<PassReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<PassReport> {
    const report: PassReport = {
      leader: false,
      enqueued: 0,
      requeued: 0,
      ended: 0,
      expired: 0,
      announced: 0,
    };
    if (!(await this.lease.acquire())) return report;
    report.leader = true;
    try {
      await this.enqueueStranded(report);
      await this.expireOverdue(report);
      await this.repairChunks(report);
      report.announced = (await this.opts.events?.rederiveEnded()) ?? 0;
    } catch (error) {
      this.opts.log.error({ err: (error as Error).message }, 'repair pass failed');
    }
    for (const action of ['enqueued', 'requeued', 'ended', 'expired', 'announced'] as const) {
      if (report[action] > 0) this.opts.onAction?.(action, report[action]);
    }
    if (report.enqueued + report.requeued + report.ended + report.expired + report.announced > 0) {
      this.opts.log.info(report, 'repair pass acted');
    }
    return report;
  }

  private async enqueueStranded(report: PassReport): Promise<void> {
    const stranded = await this.opts.dataSource.query<
      { id: string; model: string; total_count: number }[]
    >(
      `SELECT id, model, total_count FROM batches
       WHERE enqueued_at IS NULL AND created_at < now() - make_interval(secs => $1::float8 / 1000)
       ORDER BY created_at LIMIT $2`,
      [this.opts.enqueueGraceMs, BATCHES_PER_PASS],
    );
    for (const batch of stranded) {
      await enqueueBatch(
        this.opts.queueFor(batch.model),
        this.opts.dataSource,
        { id: batch.id, totalCount: batch.total_count },
        this.opts.chunkSize,
        this.opts.jobOptions,
      );
      report.enqueued++;
      this.opts.log.info({ batch_id: batch.id }, 'repair enqueued a stranded batch');
    }
  }

  /** Not-started items of batches past their deadline end as expired, whatever Redis holds. */
  private async expireOverdue(report: PassReport): Promise<void> {
    const overdue = await this.opts.dataSource.query<{ id: string }[]>(
      `SELECT b.id FROM batches b
       WHERE b.status IN ('queued', 'in_progress') AND b.expires_at <= now()
         AND EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.status = 'queued')
       ORDER BY b.expires_at LIMIT $1`,
      [BATCHES_PER_PASS],
    );
    for (const { id } of overdue) {
      const after = await this.opts.progress.expireBatch(id);
      report.expired++;
      this.opts.log.info({ batch_id: id, status: after?.status }, 'repair expired a batch');
    }
  }

  private async repairChunks(report: PassReport): Promise<void> {
    const batches = await this.openBatches();
    const now = Date.now();
    const seen = new Set<string>();
    for (const batch of batches) {
      const chunks = await this.opts.dataSource.query<{ chunk: number }[]>(
        `SELECT DISTINCT index / $2 AS chunk FROM batch_items
         WHERE batch_id = $1 AND status IN ('queued', 'in_progress') ORDER BY 1`,
        [batch.id, batch.chunk_size],
      );
      if (chunks.length === 0) continue;
      const ids = chunks.map(({ chunk }) => chunkJobId(batch.id, chunk));
      const queue = this.opts.queueFor(batch.model);
      const states = await chunkStates(queue.redis, queue, ids);
      for (const { chunk } of chunks) {
        const id = chunkJobId(batch.id, chunk);
        seen.add(id);
        const { state, stalled } = states.get(id)!;
        const ending = this.decide(batch, id, state, now);
        if (!ending) continue;
        const job = chunkJob(batch.id, chunk, batch.total_count, batch.chunk_size);
        const { progress, stillOpen } = await this.opts.progress.endChunk(
          batch.id,
          job.firstIndex,
          job.lastIndex,
          ending,
        );
        report.ended += progress?.written ?? 0;
        this.suspicious.delete(id);
        if (ending !== 'limits' || stillOpen === 0) continue;
        // The same job id: a copy that raced us back into Redis makes this a no-op.
        if (state !== 'missing') await queue.remove(id);
        await queue.add(
          CHUNK_JOB,
          {
            ...job,
            ...(state === 'orphaned' || stalled ? { suspect: true } : {}),
          } satisfies ChunkJobData,
          { ...this.opts.jobOptions, jobId: id },
        );
        report.requeued++;
        this.opts.log.warn(
          {
            batch_id: batch.id,
            model: batch.model,
            chunk,
            job_state: state,
            stalled,
            open_items: stillOpen,
          },
          'repair re-enqueued a chunk',
        );
      }
    }
    // forget suspicions about chunks that ended or were not looked at for long
    for (const [id, { since }] of this.suspicious) {
      if (!seen.has(id) && now - since > 10 * Math.max(this.opts.graceMs, this.opts.intervalMs)) {
        this.suspicious.delete(id);
      }
    }
  }

  /** What to do with a chunk that still has open items, or null to leave it alone. */
  private decide(batch: OpenBatch, id: string, state: ChunkState, now: number): ChunkEnding | null {
    if (state === 'running') {
      this.suspicious.delete(id);
      return null;
    }
    if (batch.status === 'cancelling') return 'cancel';
    if (batch.expired) return 'deadline';
    // an interactive request (POST /v1/completions) has its one job in the interactive queue, not
    // here: never re-enqueued as a chunk (its API request times out and cancels it instead)
    if (batch.origin === 'interactive') return null;
    if (state === 'waiting') {
      this.suspicious.delete(id);
      return null;
    }
    if (state === 'failed') return 'limits';
    // missing or orphaned: may be a moment's race (a lock renewed late); act once it lasts
    const earlier = this.suspicious.get(id);
    if (!earlier || earlier.state !== state) {
      this.suspicious.set(id, { state, since: now });
      return this.opts.graceMs === 0 ? 'limits' : null;
    }
    return now - earlier.since >= this.opts.graceMs ? 'limits' : null;
  }

  /** Open, enqueued batches after the cursor, oldest first; wraps around at the end. */
  private async openBatches(): Promise<OpenBatch[]> {
    const after = this.cursor;
    const batches = await this.opts.dataSource.query<OpenBatch[]>(
      `SELECT id, model, status, origin, created_at, expires_at <= now() AS expired, total_count,
              coalesce(chunk_size, $1) AS chunk_size
       FROM batches
       WHERE status IN ('queued', 'in_progress', 'cancelling') AND enqueued_at IS NOT NULL
         AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
       ORDER BY created_at, id LIMIT $4`,
      [this.opts.defaultChunkSize, after?.createdAt ?? null, after?.id ?? null, BATCHES_PER_PASS],
    );
    const last = batches[batches.length - 1];
    this.cursor =
      batches.length < BATCHES_PER_PASS || !last
        ? null
        : { createdAt: last.created_at, id: last.id };
    return batches;
  }
}
