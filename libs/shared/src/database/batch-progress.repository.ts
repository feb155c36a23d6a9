import type { BatchCounts } from '@dllm/contract';
import type { DataSource, QueryRunner } from 'typeorm';
import { FAILURE_REASONS, failureMessage } from './failure-reasons';
import { inTransaction, preparedRows, queryRows, rows } from './sql';
import {
  isTerminalBatchStatus,
  TERMINAL_STATUSES_SQL,
  type BatchOrigin,
  type BatchStatus,
} from './statuses';
import { resultWrite, type ItemOutcome } from './result-columns';

export type { ItemOutcome } from './result-columns';

/** When an item stops being retried (see ITEM_MAX_ATTEMPTS and ITEM_POISON_RUNS). */
export interface ItemLimits {
  /** claims of one item before it fails as attempts_exhausted */
  maxAttempts: number;
  /** runs alone that ended in a crash before it fails as poison */
  poisonRuns: number;
}

/** How the repair loop ends the open items of a chunk no worker holds. */
export type ChunkEnding =
  /** its batch is cancelling: open items end as cancelled */
  | 'cancel'
  /** its batch is past its deadline: queued items expire, started ones fail as no_worker */
  | 'deadline'
  /** only items over the attempt limits fail; the rest stay open for a re-enqueue */
  | 'limits';

/** A batch's item counts, as its wire view has them (request_counts). */
export type RequestCounts = BatchCounts;

/** A batch's state right after a write. */
export interface BatchProgress {
  batchId: string;
  status: BatchStatus;
  counts: RequestCounts;
  /** items this call moved to a terminal state (0 when all were already final: a replay) */
  written: number;
  /** this call ended the batch (its last item ended here) */
  closed: boolean;
}

/** What one committed transaction changed in one batch: the input of the live event path. */
export interface BatchChange {
  progress: BatchProgress;
  origin: BatchOrigin;
  /** the status before the transaction (a change that did not end the batch is announced too) */
  statusBefore: BatchStatus;
  /** the items this transaction ended (a replayed result is not among them) */
  ended: ItemOutcome[];
}

/** Told after each commit what it changed (BatchEventLog appends it to the batches' streams). */
export interface BatchChangeSink {
  committed(changes: readonly BatchChange[]): void;
}

/** An item handed to a worker by claimItems. */
export interface ClaimedItem {
  index: number;
  customId: string;
  prompt: string | null;
  prefix: string | null;
  suffix: string | null;
  params: Record<string, unknown>;
  /** 1 on the first claim; more when a chunk is retried after a crash or a lost lock */
  attempts: number;
  /** runs alone so far that did not end it (crashed, or its worker died) */
  isolatedRuns: number;
}

export interface Claim {
  status: BatchStatus;
  model: string;
  /** the OpenAI endpoint its items came through (chat prompts are a chat template's output) */
  endpoint?: string | null;
  /** submission time: queue wait is measured from here */
  createdAt: Date;
  items: ClaimedItem[];
}

interface BatchRow {
  id: string;
  status: BatchStatus;
  origin: BatchOrigin;
  model: string;
  endpoint: string | null;
  created_at: Date;
  expired: boolean;
  total_count: number;
  completed_count: number;
  failed_count: number;
  cancelled_count: number;
  expired_count: number;
}

const TERMINAL_ITEMS = TERMINAL_STATUSES_SQL;

/** What an `ended` CTE (the items a write ended) adds to its batch's counters. */
const DELTA_CTE = `delta AS (
         SELECT count(*)::int AS written,
                count(*) FILTER (WHERE status = 'completed')::int AS completed,
                count(*) FILTER (WHERE status = 'failed')::int AS failed,
                count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
                count(*) FILTER (WHERE status = 'expired')::int AS expired,
                coalesce(sum(tokens), 0) AS tokens,
                coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
                -- timing sums cover the same items as their count (those that reported steps)
                coalesce(sum(steps), 0) AS forwards,
                coalesce(sum(queue_ms) FILTER (WHERE steps IS NOT NULL), 0) AS queue_ms,
                coalesce(sum(compute_ms) FILTER (WHERE steps IS NOT NULL), 0) AS compute_ms,
                count(*) FILTER (WHERE steps IS NOT NULL)::int AS timed,
                coalesce(array_agg(index), '{}') AS ended_indexes
         FROM ended
       )`;

/** The counter assignments of `batches b` from `delta d`. */
const COUNTER_SET = `completed_count = b.completed_count + d.completed,
           failed_count = b.failed_count + d.failed,
           cancelled_count = b.cancelled_count + d.cancelled,
           expired_count = b.expired_count + d.expired,
           total_tokens = b.total_tokens + d.tokens,
           total_prompt_tokens = b.total_prompt_tokens + d.prompt_tokens,
           total_forwards = b.total_forwards + d.forwards,
           total_queue_ms = b.total_queue_ms + d.queue_ms,
           total_compute_ms = b.total_compute_ms + d.compute_ms,
           timed_count = b.timed_count + d.timed`;

/**
 * Every state change of items after submission, shared by the API (cancel, expiry) and the
 * worker (claim, finish). The rules that keep the counters exact under retries and races:
 * - each transaction first locks its batch rows (sorted by id), then touches items, so writers
 *   of one batch serialise and never deadlock;
 * - an item write only applies `WHERE status NOT IN (terminal)`, and counters move by what that
 *   UPDATE returned, so a replayed result changes nothing;
 * - whoever ends the last item closes the batch in the same transaction.
 */
export class BatchProgressRepository {
  constructor(
    private readonly dataSource: DataSource,
    readonly limits: ItemLimits = { maxAttempts: 10, poisonRuns: 2 },
    /** hears every commit's changes (none: the events are left to the repair loop) */
    private readonly sink?: BatchChangeSink,
  ) {}

  /**
   * One transaction whose batch changes (collected by applyOutcomes and the status updates) are
   * told to the sink once it committed, never before: a reader of an event finds it in Postgres.
   */
  private async committing<T>(
    work: (runner: QueryRunner, changes: BatchChange[]) => Promise<T>,
  ): Promise<T> {
    const changes: BatchChange[] = [];
    const result = await inTransaction(this.dataSource, (runner) => work(runner, changes));
    this.tell(changes);
    return result;
  }

  /**
   * Records how items ended (batched: any number of items of any batches). Idempotent: items
   * already final are left alone and not counted again.
   */
  async finishItems(outcomes: readonly ItemOutcome[]): Promise<BatchProgress[]> {
    const byBatch = new Map<string, Map<number, ItemOutcome>>();
    for (const outcome of outcomes) {
      const items = byBatch.get(outcome.batchId) ?? new Map<number, ItemOutcome>();
      // The first report of an item wins, as it would in the database.
      if (!items.has(outcome.index)) items.set(outcome.index, outcome);
      byBatch.set(outcome.batchId, items);
    }
    if (byBatch.size === 0) return [];
    const sorted = (batchId: string) =>
      [...byBatch.get(batchId)!.values()].sort((a, b) => a.index - b.index);
    if (byBatch.size === 1) {
      // the common case (and every interactive result): one statement, no transaction round trips
      const [batchId] = byBatch.keys();
      const changes: BatchChange[] = [];
      const progress = await this.finishInBatch(undefined, batchId!, sorted(batchId!), changes);
      this.tell(changes);
      return progress ? [progress] : [];
    }
    return this.committing(async (runner, changes) => {
      const locked = await this.lockBatches(runner, [...byBatch.keys()]);
      const progress: BatchProgress[] = [];
      for (const batch of locked) {
        const done = await this.finishInBatch(runner, batch.id, sorted(batch.id), changes);
        if (done) progress.push(done);
      }
      return progress;
    });
  }

  /**
   * Item writes + counter deltas + closing of one batch in ONE statement (its batch row locked
   * first, as every writer does). Under READ COMMITTED a row changed by a writer that committed
   * while this one waited for the lock is re-read at its newest version (the item's `status NOT IN
   * (terminal)` and the counters alike), so a replayed or racing result is still counted once.
   */
  private async finishInBatch(
    /** the transaction's (its batch locked already), or none: the statement on its own */
    runner: QueryRunner | undefined,
    batchId: string,
    items: readonly Omit<ItemOutcome, 'batchId'>[],
    changes: BatchChange[],
  ): Promise<BatchProgress | null> {
    const write = resultWrite(items, 2);
    type Row = BatchRow & {
      written: number;
      ended_indexes: number[];
      status_before: BatchStatus;
      closed: boolean;
    };
    const query = (text: string, params: unknown[]) =>
      runner ? rows<Row>(runner, text, params) : preparedRows<Row>(this.dataSource, text, params);
    const [row] = await query(
      `WITH locked AS (
         SELECT id, status, total_count, completed_count, failed_count, cancelled_count, expired_count
         FROM batches WHERE id = $1 FOR UPDATE
       ),
       outcome AS (${write.outcome}),
       ended AS (
         UPDATE batch_items i
         SET ${write.set}, finished_at = now()
         FROM outcome o, locked l
         WHERE i.batch_id = l.id AND i.index = o.index AND i.status NOT IN ${TERMINAL_ITEMS}
         RETURNING i.index, i.status, i.steps, i.tokens, i.prompt_tokens, i.queue_ms, i.compute_ms
       ),
       ${DELTA_CTE},
       -- the status it ends as when this write ends its last item (NULL: it stays open)
       verdict AS (
         SELECT CASE
           WHEN l.status IN ${TERMINAL_ITEMS} THEN NULL
           WHEN l.completed_count + d.completed + l.failed_count + d.failed
                + l.cancelled_count + d.cancelled + l.expired_count + d.expired < l.total_count THEN NULL
           WHEN l.status = 'cancelling' THEN 'cancelled'
           WHEN l.expired_count + d.expired > 0 THEN 'expired'
           WHEN l.failed_count + d.failed = l.total_count THEN 'failed'
           ELSE 'completed' END AS closing
         FROM locked l, delta d
       )
       UPDATE batches b
       SET ${COUNTER_SET},
           status = CASE WHEN v.closing IS NOT NULL THEN v.closing
                         -- a result arriving for a queued batch means work started (e.g. claimed elsewhere)
                         WHEN b.status = 'queued' AND d.completed + d.failed > 0 THEN 'in_progress'
                         ELSE b.status END,
           in_progress_at = CASE WHEN d.completed + d.failed > 0
                                 THEN coalesce(b.in_progress_at, now()) ELSE b.in_progress_at END,
           completed_at = CASE WHEN v.closing = 'completed' THEN now() ELSE b.completed_at END,
           failed_at = CASE WHEN v.closing = 'failed' THEN now() ELSE b.failed_at END,
           cancelled_at = CASE WHEN v.closing = 'cancelled' THEN now() ELSE b.cancelled_at END,
           expired_at = CASE WHEN v.closing = 'expired' THEN now() ELSE b.expired_at END
       FROM delta d, verdict v, locked l
       WHERE b.id = l.id
       RETURNING b.id, b.status, b.origin, b.model, b.created_at, b.expires_at <= now() AS expired,
                 b.total_count, b.completed_count, b.failed_count, b.cancelled_count,
                 b.expired_count, d.written, d.ended_indexes, l.status AS status_before,
                 v.closing IS NOT NULL AS closed`,
      [batchId, ...write.params],
    );
    if (!row) return null;
    const endedNow = new Set(row.ended_indexes);
    const ended = items.filter((i) => endedNow.has(i.index)).map((i) => ({ ...i, batchId }));
    return noteChange(
      changes,
      progressOf(row, row.written, row.closed),
      row.origin,
      row.status_before,
      ended,
    );
  }

  /** Tells the sink what committed (a change that neither ended items nor moved a status is not news). */
  private tell(changes: readonly BatchChange[]): void {
    const told = changes.filter((c) => c.ended.length > 0 || c.progress.status !== c.statusBefore);
    if (told.length > 0) this.sink?.committed(told);
  }

  /**
   * Hands items [firstIndex, lastIndex] not yet final to a worker (queued ones, and in-progress
   * ones whose worker died). A cancelling batch gets its range cancelled instead, a batch past
   * its deadline its range expired; both return no items. Items over the attempt limits fail
   * here (poison, attempts_exhausted) instead of being handed out again.
   */
  async claimItems(
    batchId: string,
    firstIndex: number,
    lastIndex: number,
    workerId: string,
  ): Promise<Claim | null> {
    const fast = await this.claimInOneStatement(batchId, firstIndex, lastIndex, workerId);
    if (fast !== 'slow') return fast;
    return this.committing(async (runner, changes) => {
      const [batch] = await this.lockBatches(runner, [batchId]);
      if (!batch) return null;
      const claim: Claim = {
        status: batch.status,
        model: batch.model,
        endpoint: batch.endpoint,
        createdAt: batch.created_at,
        items: [],
      };
      if (isTerminalBatchStatus(batch.status)) return claim;
      if (batch.status === 'cancelling' || batch.expired) {
        const status = batch.status === 'cancelling' ? 'cancelled' : 'expired';
        const open = await rows<{ index: number }>(
          runner,
          `SELECT index FROM batch_items
           WHERE batch_id = $1 AND index BETWEEN $2 AND $3 AND status NOT IN ${TERMINAL_ITEMS}`,
          [batchId, firstIndex, lastIndex],
        );
        const after = await this.applyOutcomes(
          runner,
          batch,
          open.map(({ index }) => ({ batchId, index, status })),
          changes,
        );
        return { ...claim, status: after.status };
      }
      const overLimit = await this.overLimitOutcomes(runner, batchId, firstIndex, lastIndex);
      if (overLimit.length > 0) await this.applyOutcomes(runner, batch, overLimit, changes);
      const items = await rows<{
        index: number;
        custom_id: string;
        prompt: string | null;
        prefix: string | null;
        suffix: string | null;
        params: Record<string, unknown>;
        attempts: number;
        isolated_runs: number;
      }>(
        runner,
        `UPDATE batch_items
         SET status = 'in_progress', attempts = attempts + 1, worker_id = $4,
             started_at = coalesce(started_at, now())
         WHERE batch_id = $1 AND index BETWEEN $2 AND $3 AND status IN ('queued', 'in_progress')
         RETURNING index, custom_id, prompt, prefix, suffix, params, attempts, isolated_runs`,
        [batchId, firstIndex, lastIndex, workerId],
      );
      let status = batch.status;
      if (items.length > 0 && status === 'queued') {
        await runner.query(
          `UPDATE batches SET status = 'in_progress', in_progress_at = coalesce(in_progress_at, now())
           WHERE id = $1`,
          [batchId],
        );
        noteChange(
          changes,
          progressOf({ ...batch, status: 'in_progress' }, 0, false),
          batch.origin,
          batch.status,
          [],
        );
        status = 'in_progress';
      }
      return {
        ...claim,
        status,
        items: items
          .sort((a, b) => a.index - b.index)
          .map((i) => ({
            index: i.index,
            customId: i.custom_id,
            prompt: i.prompt,
            prefix: i.prefix,
            suffix: i.suffix,
            params: i.params,
            attempts: i.attempts,
            isolatedRuns: i.isolated_runs,
          })),
      };
    });
  }

  /**
   * claimItems in ONE statement for the usual case: the batch open, not past its deadline, and no
   * item of the range over the attempt limits. Anything else ('slow': nothing written) takes the
   * transaction above, which ends items as the case needs. The batch row is locked first, as by
   * every writer; an item row changed by a writer that committed while this one waited for the
   * lock is re-checked at its newest version (READ COMMITTED), so an item another worker ended
   * meanwhile is not handed out, and one over the limits by then is left alone (a duplicate
   * delivery holds it; it fails here on a later claim, or ends where it runs).
   */
  private async claimInOneStatement(
    batchId: string,
    firstIndex: number,
    lastIndex: number,
    workerId: string,
  ): Promise<Claim | null | 'slow'> {
    const { maxAttempts, poisonRuns } = this.limits;
    const [row] = await preparedRows<
      BatchRow & {
        fast: boolean;
        moved: boolean;
        items: Array<{
          index: number;
          custom_id: string;
          prompt: string | null;
          prefix: string | null;
          suffix: string | null;
          params: Record<string, unknown>;
          attempts: number;
          isolated_runs: number;
        }>;
      }
    >(
      this.dataSource,
      `WITH b AS (
         SELECT id, status, origin, model, endpoint, created_at, expires_at <= now() AS expired,
                total_count, completed_count, failed_count, cancelled_count, expired_count
         FROM batches WHERE id = $1 FOR UPDATE
       ),
       ok AS (
         SELECT b.id, b.status FROM b
         WHERE b.status IN ('queued', 'in_progress') AND NOT b.expired
           AND NOT EXISTS (
             SELECT 1 FROM batch_items
             WHERE batch_id = $1 AND index BETWEEN $2 AND $3 AND status IN ('queued', 'in_progress')
               AND (attempts >= $5 OR isolated_runs >= $6))
       ),
       claimed AS (
         UPDATE batch_items i
         SET status = 'in_progress', attempts = i.attempts + 1, worker_id = $4,
             started_at = coalesce(i.started_at, now())
         FROM ok
         WHERE i.batch_id = ok.id AND i.index BETWEEN $2 AND $3 AND i.status IN ('queued', 'in_progress')
           AND i.attempts < $5 AND i.isolated_runs < $6
         RETURNING i.index, i.custom_id, i.prompt, i.prefix, i.suffix, i.params, i.attempts,
                   i.isolated_runs
       ),
       moved AS (
         UPDATE batches m SET status = 'in_progress', in_progress_at = coalesce(m.in_progress_at, now())
         FROM ok
         WHERE m.id = ok.id AND ok.status = 'queued' AND EXISTS (SELECT 1 FROM claimed)
         RETURNING m.id
       )
       SELECT b.*, EXISTS (SELECT 1 FROM ok) AS fast, EXISTS (SELECT 1 FROM moved) AS moved,
              coalesce((SELECT json_agg(c) FROM claimed c), '[]'::json) AS items
       FROM b`,
      [batchId, firstIndex, lastIndex, workerId, maxAttempts, poisonRuns],
    );
    if (!row) return null;
    const claim: Claim = {
      status: row.status,
      model: row.model,
      endpoint: row.endpoint,
      createdAt: row.created_at,
      items: [],
    };
    if (isTerminalBatchStatus(row.status)) return claim;
    if (!row.fast) return 'slow';
    if (row.moved) {
      const changes: BatchChange[] = [];
      noteChange(
        changes,
        progressOf({ ...row, status: 'in_progress' }, 0, false),
        row.origin,
        row.status,
        [],
      );
      this.tell(changes);
      claim.status = 'in_progress';
    }
    claim.items = row.items
      .sort((a, b) => a.index - b.index)
      .map((i) => ({
        index: i.index,
        customId: i.custom_id,
        prompt: i.prompt,
        prefix: i.prefix,
        suffix: i.suffix,
        params: i.params,
        attempts: i.attempts,
        isolatedRuns: i.isolated_runs,
      }));
    return claim;
  }

  /**
   * Write-ahead of a run alone: counts it before it starts, so a crash that kills the process
   * during the run is still counted. Returns the new count, or null when the item is no longer
   * running here (it ended elsewhere: a duplicate delivery).
   */
  async countIsolatedRun(batchId: string, index: number): Promise<number | null> {
    const [row] = await queryRows<{ isolated_runs: number }>(
      this.dataSource,
      `UPDATE batch_items SET isolated_runs = isolated_runs + 1
       WHERE batch_id = $1 AND index = $2 AND status = 'in_progress'
       RETURNING isolated_runs`,
      [batchId, index],
    );
    return row?.isolated_runs ?? null;
  }

  /**
   * Ends open items of [firstIndex, lastIndex] that no worker holds, as the repair loop decided
   * (see ChunkEnding). Returns the batch's progress and how many items of the range stay open.
   */
  async endChunk(
    batchId: string,
    firstIndex: number,
    lastIndex: number,
    ending: ChunkEnding,
  ): Promise<{ progress: BatchProgress | null; stillOpen: number }> {
    return this.committing(async (runner, changes) => {
      const [batch] = await this.lockBatches(runner, [batchId]);
      if (!batch) return { progress: null, stillOpen: 0 };
      const open = await rows<{ index: number; status: string }>(
        runner,
        `SELECT index, status FROM batch_items
         WHERE batch_id = $1 AND index BETWEEN $2 AND $3 AND status NOT IN ${TERMINAL_ITEMS}`,
        [batchId, firstIndex, lastIndex],
      );
      let outcomes: Omit<ItemOutcome, 'batchId'>[];
      if (ending === 'cancel') {
        outcomes = open.map(({ index }) => ({ index, status: 'cancelled' }));
      } else if (ending === 'deadline') {
        outcomes = open.map(({ index, status }) =>
          status === 'queued'
            ? { index, status: 'expired' }
            : {
                index,
                status: 'failed',
                failureReason: FAILURE_REASONS.noWorker,
                error: failureMessage(
                  FAILURE_REASONS.noWorker,
                  'its worker stopped and no worker finished it before the batch deadline',
                ),
              },
        );
      } else {
        outcomes = await this.overLimitOutcomes(runner, batchId, firstIndex, lastIndex);
      }
      const progress = await this.applyOutcomes(runner, batch, outcomes, changes);
      return { progress, stillOpen: open.length - progress.written };
    });
  }

  /** Open items of a range past ITEM_POISON_RUNS or ITEM_MAX_ATTEMPTS, as failed outcomes. */
  private async overLimitOutcomes(
    runner: QueryRunner,
    batchId: string,
    firstIndex: number,
    lastIndex: number,
  ): Promise<Omit<ItemOutcome, 'batchId'>[]> {
    const { maxAttempts, poisonRuns } = this.limits;
    const over = await rows<{ index: number; attempts: number; isolated_runs: number }>(
      runner,
      `SELECT index, attempts, isolated_runs FROM batch_items
       WHERE batch_id = $1 AND index BETWEEN $2 AND $3 AND status IN ('queued', 'in_progress')
         AND (attempts >= $4 OR isolated_runs >= $5)`,
      [batchId, firstIndex, lastIndex, maxAttempts, poisonRuns],
    );
    return over.map(({ index, attempts, isolated_runs }) => {
      const reason =
        isolated_runs >= poisonRuns ? FAILURE_REASONS.poison : FAILURE_REASONS.attemptsExhausted;
      const detail =
        reason === FAILURE_REASONS.poison
          ? `it crashed its engine or worker each of the ${isolated_runs} times it ran alone`
          : `claimed ${attempts} times without finishing (its workers died or lost it each time)`;
      return {
        index,
        status: 'failed',
        failureReason: reason,
        error: failureMessage(reason, detail),
      };
    });
  }

  /**
   * Cancels a batch: queued items end as cancelled now, running ones are left to the worker
   * (it watches the batch status and the cancel channel). The batch is `cancelling` until no
   * item runs, then `cancelled`. Finished results are kept. Returns null for an unknown batch;
   * a batch already ended or cancelling is returned unchanged.
   */
  async cancelBatch(batchId: string): Promise<BatchProgress | null> {
    return this.committing(async (runner, changes) => {
      const [batch] = await this.lockBatches(runner, [batchId]);
      if (!batch) return null;
      if (batch.status === 'cancelling' || isTerminalBatchStatus(batch.status)) {
        return progressOf(batch, 0, false);
      }
      await runner.query(
        `UPDATE batches SET status = 'cancelling', cancelling_at = now() WHERE id = $1`,
        [batchId],
      );
      const before = batch.status;
      batch.status = 'cancelling';
      const after = await this.endQueuedItems(runner, batch, 'cancelled', changes);
      // the cancel itself is news even when no queued item ended with it
      const change = changes.find((c) => c.progress.batchId === batchId);
      if (change) change.statusBefore = before;
      return after;
    });
  }

  /**
   * Expires a batch past its deadline: items not started end as expired; the batch ends as
   * `expired` once nothing runs. Returns null for an unknown batch; otherwise the batch as it is
   * (unchanged when it is not open or not yet due).
   */
  async expireBatch(batchId: string): Promise<BatchProgress | null> {
    return this.committing(async (runner, changes) => {
      const [batch] = await this.lockBatches(runner, [batchId]);
      if (!batch) return null;
      if (!batch.expired || !['queued', 'in_progress'].includes(batch.status)) {
        return progressOf(batch, 0, false);
      }
      return this.endQueuedItems(runner, batch, 'expired', changes);
    });
  }

  private async endQueuedItems(
    runner: QueryRunner,
    batch: BatchRow,
    status: 'cancelled' | 'expired',
    changes: BatchChange[],
  ): Promise<BatchProgress> {
    const queued = await rows<{ index: number }>(
      runner,
      `SELECT index FROM batch_items WHERE batch_id = $1 AND status = 'queued' ORDER BY index`,
      [batch.id],
    );
    return this.applyOutcomes(
      runner,
      batch,
      queued.map(({ index }) => ({ batchId: batch.id, index, status })),
      changes,
    );
  }

  /** Locks batch rows in id order (the one lock order every writer follows). */
  private async lockBatches(runner: QueryRunner, ids: string[]): Promise<BatchRow[]> {
    return rows<BatchRow>(
      runner,
      `SELECT id, status, origin, model, endpoint, created_at, expires_at <= now() AS expired, total_count,
              completed_count, failed_count, cancelled_count, expired_count
       FROM batches WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
  }

  /** Item writes + counter deltas + closing, for one locked batch. */
  private async applyOutcomes(
    runner: QueryRunner,
    batch: BatchRow,
    items: readonly Omit<ItemOutcome, 'batchId'>[],
    changes: BatchChange[],
  ): Promise<BatchProgress> {
    if (items.length === 0) return this.closeIfDone(runner, batch, 0, [], changes);
    const write = resultWrite(items, 2);
    const [after] = await rows<BatchRow & { written: number; ended_indexes: number[] }>(
      runner,
      `WITH outcome AS (${write.outcome}),
       ended AS (
         UPDATE batch_items i
         SET ${write.set}, finished_at = now()
         FROM outcome o
         WHERE i.batch_id = $1 AND i.index = o.index AND i.status NOT IN ${TERMINAL_ITEMS}
         RETURNING i.index, i.status, i.steps, i.tokens, i.prompt_tokens, i.queue_ms, i.compute_ms
       ),
       ${DELTA_CTE}
       UPDATE batches b
       SET ${COUNTER_SET},
           -- a result arriving for a queued batch means work started (e.g. claimed elsewhere)
           status = CASE WHEN b.status = 'queued' AND d.completed + d.failed > 0
                         THEN 'in_progress' ELSE b.status END,
           in_progress_at = CASE WHEN d.completed + d.failed > 0
                                 THEN coalesce(b.in_progress_at, now()) ELSE b.in_progress_at END
       FROM delta d
       WHERE b.id = $1
       RETURNING b.id, b.status, b.origin, b.model, b.created_at, b.expires_at <= now() AS expired,
                 b.total_count, b.completed_count, b.failed_count, b.cancelled_count,
                 b.expired_count, d.written, d.ended_indexes`,
      [batch.id, ...write.params],
    );
    const endedNow = new Set(after!.ended_indexes);
    const ended = items
      .filter((i) => endedNow.has(i.index))
      .map((i) => ({ ...i, batchId: batch.id }));
    return this.closeIfDone(
      runner,
      { ...after!, status: batch.status },
      after!.written,
      ended,
      changes,
      after!.status,
    );
  }

  /**
   * Ends the batch when every item has ended: cancelled if it was cancelling, expired if any
   * item expired, failed if every item failed, completed otherwise.
   */
  private async closeIfDone(
    runner: QueryRunner,
    before: BatchRow,
    written: number,
    ended: ItemOutcome[],
    changes: BatchChange[],
    statusNow: BatchStatus = before.status,
  ): Promise<BatchProgress> {
    const batch = { ...before, status: statusNow };
    const record = (progress: BatchProgress) =>
      noteChange(changes, progress, before.origin, before.status, ended);
    const endedCount =
      batch.completed_count + batch.failed_count + batch.cancelled_count + batch.expired_count;
    if (endedCount < batch.total_count || isTerminalBatchStatus(batch.status)) {
      return record(progressOf(batch, written, false));
    }
    const status: BatchStatus =
      batch.status === 'cancelling'
        ? 'cancelled'
        : batch.expired_count > 0
          ? 'expired'
          : batch.failed_count === batch.total_count
            ? 'failed'
            : 'completed';
    // The column names come from the fixed status list above, never from input.
    await runner.query(`UPDATE batches SET status = $2, ${status}_at = now() WHERE id = $1`, [
      batch.id,
      status,
    ]);
    return record(progressOf({ ...batch, status }, written, true));
  }
}

/** Adds what a write did to a batch to the transaction's changes (one entry per batch). */
function noteChange(
  changes: BatchChange[],
  progress: BatchProgress,
  origin: BatchOrigin,
  statusBefore: BatchStatus,
  ended: ItemOutcome[],
): BatchProgress {
  const earlier = changes.find((c) => c.progress.batchId === progress.batchId);
  if (earlier) {
    earlier.progress = progress;
    earlier.ended.push(...ended);
  } else changes.push({ progress, origin, statusBefore, ended: [...ended] });
  return progress;
}

function progressOf(batch: BatchRow, written: number, closed: boolean): BatchProgress {
  return {
    batchId: batch.id,
    status: batch.status,
    counts: {
      total: batch.total_count,
      completed: batch.completed_count,
      failed: batch.failed_count,
      cancelled: batch.cancelled_count,
      expired: batch.expired_count,
    },
    written,
    closed,
  };
}
