import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type {
  BatchChange,
  BatchChangeSink,
  ItemOutcome,
} from '../database/batch-progress.repository';
import { TERMINAL_STATUSES_SQL, type BatchOrigin, type BatchStatus } from '../database/statuses';
import { toStorableText } from '../database/storable-text';
import {
  BATCH_EVENTS_LIMITS,
  batchEventsKey,
  encodeEvent,
  endedBatchesKey,
  eventsEpochKey,
  type BatchEnded,
  type BatchEvent,
  type CanvasFrame,
  type ItemEnded,
} from './batch-events';

/** Batches whose ended event is re-derived per repair pass (a backlog drains over passes). */
const REDERIVE_PER_PASS = 500;

type Warn = (message: string, detail: Record<string, unknown>) => void;

/**
 * The writing end of the event path. Told each commit's changes by BatchProgressRepository, it
 * appends them to the batches' Redis streams (batch-ended also to the deployment's ended-batches
 * stream), and then records in Postgres that a batch's end was announced (ended_event_at). Fire
 * and forget: a lost event never slows or fails a write; the repair loop re-derives what an
 * outage or a crash between commit and append left unannounced (rederiveEnded).
 *
 * Canvases go through the same connection, so a batch's stream holds them before its end.
 */
export class BatchEventLog implements BatchChangeSink {
  private warned = false;
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** where announced ends are recorded; without it (canvases only) nothing is recorded */
    private readonly dataSource?: DataSource,
    private readonly warn: Warn = () => undefined,
    /** a batch's stream lives this long after its last entry (CANVAS_RETENTION_S) */
    private readonly ttlSeconds: number = BATCH_EVENTS_LIMITS.ttlSeconds,
  ) {}

  /** An item's intermediate canvas (GET /v1/batches/:id/canvas, streamed completions). */
  canvas(batchId: string, frame: CanvasFrame): void {
    this.track(this.append([[batchId, { type: 'canvas', frame }]]), batchId);
  }

  committed(changes: readonly BatchChange[]): void {
    const events: [string, BatchEvent][] = [];
    for (const { progress, origin, statusBefore, ended } of changes) {
      const withOutput = origin === 'interactive';
      for (const outcome of ended) {
        events.push([
          progress.batchId,
          { type: 'item-ended', item: itemEnded(outcome, withOutput) },
        ]);
      }
      if (progress.closed) {
        events.push([
          progress.batchId,
          {
            type: 'batch-ended',
            ended: { status: progress.status, origin, counts: progress.counts },
          },
        ]);
      } else if (progress.status !== statusBefore) {
        events.push([progress.batchId, { type: 'batch-changed', status: progress.status }]);
      }
    }
    const closed = changes.filter((c) => c.progress.closed).map((c) => c.progress.batchId);
    this.track(
      this.append(events).then(() => (closed.length ? this.markAnnounced(closed) : undefined)),
      changes[0]?.progress.batchId,
    );
  }

  /**
   * Appends batch-ended again for ended batches whose end was never announced (Redis away at the
   * time, a crash between commit and append), and, when Redis lost its data (the epoch key is
   * gone: flushed, restarted empty), for every batch that ended within a stream's lifetime, newest
   * first. Returns how many it announced. Run by the repair loop's leader.
   */
  async rederiveEnded(): Promise<number> {
    if (!this.dataSource) return 0;
    const flushed =
      (await this.redis.set(eventsEpochKey(this.prefix), String(Date.now()), 'NX')) === 'OK';
    if (flushed) {
      await this.dataSource.query(
        `UPDATE batches SET ended_event_at = NULL
         WHERE ended_event_at > now() - make_interval(secs => $1)`,
        [this.ttlSeconds],
      );
    }
    const due = await this.dataSource.query<
      {
        id: string;
        status: BatchStatus;
        origin: BatchOrigin;
        total_count: number;
        completed_count: number;
        failed_count: number;
        cancelled_count: number;
        expired_count: number;
      }[]
    >(
      `SELECT id, status, origin, total_count, completed_count, failed_count, cancelled_count,
              expired_count
       FROM batches
       WHERE ended_event_at IS NULL AND status IN ${TERMINAL_STATUSES_SQL}
       ORDER BY coalesce(completed_at, failed_at, cancelled_at, expired_at) DESC NULLS LAST
       LIMIT $1`,
      [REDERIVE_PER_PASS],
    );
    if (due.length === 0) return 0;
    await this.append(
      due.map((b) => [
        b.id,
        {
          type: 'batch-ended',
          ended: {
            status: b.status,
            origin: b.origin,
            counts: {
              total: b.total_count,
              completed: b.completed_count,
              failed: b.failed_count,
              cancelled: b.cancelled_count,
              expired: b.expired_count,
            },
          } satisfies BatchEnded,
        },
      ]),
    );
    await this.markAnnounced(due.map((b) => b.id));
    return due.length;
  }

  /** Resolves once every append started so far has settled (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private append(events: readonly [string, BatchEvent][]): Promise<unknown> {
    if (events.length === 0) return Promise.resolve();
    const multi = this.redis.multi();
    const keys = new Set<string>();
    for (const [batchId, event] of events) {
      const key = batchEventsKey(this.prefix, batchId);
      keys.add(key);
      multi.xadd(key, 'MAXLEN', '~', BATCH_EVENTS_LIMITS.maxEntries, '*', ...encodeEvent(event));
      if (event.type === 'batch-ended') {
        multi.xadd(
          endedBatchesKey(this.prefix),
          'MAXLEN',
          '~',
          BATCH_EVENTS_LIMITS.maxEndedBatches,
          '*',
          ...encodeEvent(event, batchId),
        );
      }
    }
    for (const key of keys) multi.expire(key, this.ttlSeconds);
    return multi.exec().then((replies) => {
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) throw failed?.[0] ?? new Error('the append was discarded');
    });
  }

  private async markAnnounced(ids: string[]): Promise<void> {
    await this.dataSource?.query(
      `UPDATE batches SET ended_event_at = now() WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  private track(work: Promise<unknown>, batchId: string | undefined): void {
    const settled = work
      .catch((err: Error) => {
        if (this.warned) return;
        this.warned = true; // once per process: an outage would otherwise log every step
        this.warn('batch events not appended (the repair loop announces ended batches)', {
          err: err.message,
          batch_id: batchId,
        });
      })
      .finally(() => this.inFlight.delete(settled));
    this.inFlight.add(settled);
  }
}

function itemEnded(o: ItemOutcome, withOutput: boolean): ItemEnded {
  return {
    index: o.index,
    status: o.status,
    finish_reason: o.finishReason ?? null,
    steps: o.steps ?? null,
    tokens: o.tokens ?? null,
    prompt_tokens: o.promptTokens ?? null,
    queue_ms: o.queueMs ?? null,
    compute_ms: o.computeMs ?? null,
    seed: o.seed ?? null,
    error: typeof o.error === 'string' ? toStorableText(o.error) : null,
    // as stored: the reply folded from events equals the one read from Postgres
    ...(withOutput
      ? { output: typeof o.output === 'string' ? toStorableText(o.output) : null }
      : {}),
  };
}
