import type { GenerationParams } from '../params';
import type { GenerationResult } from '../types';
import { Backlog, heldItem, NO_WAITING_WORK, type WaitingWork } from './backlog';
import { decide, LEVELS, simulate, type Decision } from './budget-controller';
import { RateTracker } from './rate-tracker';

/** What the loop needs of the engine: its counters, and where to send the auto threshold. */
export interface BudgetEngine {
  stats(): Promise<{ rowsInForwards: number; active: number }>;
  setAutoThreshold(threshold: number | null): void;
}

/** Where the loop logs its decisions (a pino logger fits). */
export interface BudgetLog {
  info(fields: Record<string, unknown>, message: string): void;
}

/** The counters the loop moves, as prom-client's Gauge/Counter/Histogram take them (the worker's). */
export interface BudgetMetrics {
  autoThreshold: { set(labels: { model: string }, value: number): void };
  budgetDecisions: { inc(labels: { reason: string }): void };
  rowsTightened: { inc(): void };
  predictedFinish: { set(value: number): void };
  finishError: { observe(value: number): void };
  deadlineSlack: { observe(labels: { budget: string }, value: number): void };
  deadlineMisses: { inc(labels: { budget: string }): void };
}

export interface BudgetLoopOptions {
  engine: BudgetEngine;
  /** the queue's unclaimed chunks, as far as they can be seen (QueuePeek) */
  waiting: () => Promise<WaitingWork>;
  model: string;
  log: BudgetLog;
  metrics?: BudgetMetrics;
  /** BUDGET_INTERVAL_MS */
  intervalMs: number;
  /** BUDGET_RELAX_MARGIN */
  relaxMargin: number;
  /** BUDGET_PLAN_MARGIN */
  planMargin: number;
  /** BUDGET_RELAX_HOLD_MS: relax one level at a time, at most once per this long after any change */
  relaxHoldMs: number;
  now?: () => number;
}

/**
 * Runs the budget controller for one worker: every interval, and whenever rows arrive, it measures
 * the engine (row-forwards per second; tokens per forward per threshold as rows end), weighs the
 * backlog it holds, and sends the engine the threshold for budget "auto" rows that start from then
 * on. Running rows and fixed-budget rows are never touched (the scheduler applies it at admission).
 */
export class BudgetLoop {
  readonly backlog = new Backlog();
  private readonly tracker = new RateTracker();
  private current: number = LEVELS[0];
  /** when the auto threshold last changed (relaxing waits relaxHoldMs after it) */
  private changedAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** the last predicted finish of held work, compared with the actual one when it drains */
  private predictedFinishAt: number | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: BudgetLoopOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The threshold budget "auto" rows get as they start. */
  get threshold(): number {
    return this.current;
  }

  start(): void {
    this.opts.metrics?.autoThreshold.set({ model: this.opts.model }, this.current);
    this.timer = setInterval(() => void this.nudge(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A claimed item: counted in the backlog until released (an item whose params do not parse is never held: it costs nothing). */
  hold(key: string, params: GenerationParams, submittedAt: number): void {
    this.backlog.hold(key, heldItem(params, submittedAt));
  }

  release(key: string): void {
    this.backlog.release(key);
  }

  /** A row the engine returned: measure what it cost, and whether it met its deadline. */
  rowEnded(key: string, result: GenerationResult, endedAt: number): void {
    const held = this.backlog.get(key);
    this.backlog.release(key);
    if (result.finish_reason === 'cancelled') return;
    const m = this.opts.metrics;
    // cost per canvas token, as the backlog counts it (gen_length, even if the row stopped early)
    if (result.applied_threshold !== null && result.steps > 0)
      this.tracker.observeRow(
        result.applied_threshold,
        held?.tokens ?? result.tokens,
        result.steps,
      );
    if (
      held &&
      result.budget === 'auto' &&
      result.applied_threshold !== null &&
      result.applied_threshold < held.threshold
    )
      m?.rowsTightened.inc();
    if (held?.deadline != null) {
      const slack = (held.deadline - endedAt) / 1000;
      m?.deadlineSlack.observe({ budget: held.budget }, slack);
      if (slack < 0) m?.deadlineMisses.inc({ budget: held.budget });
    }
    if (this.backlog.size === 0 && this.predictedFinishAt !== null) {
      m?.finishError.observe((endedAt - this.predictedFinishAt) / 1000);
      this.predictedFinishAt = null;
    }
  }

  /** Decide again now (one decision at a time; a nudge during one runs another after it). */
  nudge(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.tick();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async tick(): Promise<void> {
    const now = this.now();
    try {
      const s = await this.opts.engine.stats();
      this.tracker.observeEngine(now, s.rowsInForwards, s.active > 0);
    } catch {
      return; // engine restarting: keep the last decision
    }
    const rates = this.tracker.rates();
    if (!rates) return; // nothing measured yet: auto rows run at their own threshold
    const waiting = await this.opts.waiting().catch(() => NO_WAITING_WORK); // Redis or Postgres away: the queue is unseen
    const backlog = this.backlog.entries(rates, waiting);
    const chunks = waiting.chunks.length + waiting.unseenChunks;
    let d = decide(now, backlog, rates, this.current, {
      relaxMargin: this.opts.relaxMargin,
      planMargin: this.opts.planMargin,
    });
    // Tighten at once, relax slowly: the measured rates are noisy, and a relax that the next
    // measurement takes back costs quality twice. One gentler level per relaxHoldMs at most.
    if (d.reason === 'relax') {
      if (now - this.changedAt < this.opts.relaxHoldMs) return;
      const gentler =
        LEVELS[LEVELS.indexOf(this.current as (typeof LEVELS)[number]) - 1] ?? LEVELS[0];
      d = {
        ...d,
        threshold: gentler,
        predictedFinishAt: simulate(now, backlog, rates, gentler).finishAt,
      };
    }
    if (d.reason !== 'idle') {
      this.predictedFinishAt = d.predictedFinishAt;
      this.opts.metrics?.predictedFinish.set(d.predictedFinishAt / 1000);
    }
    if (d.threshold !== this.current)
      this.apply(d, {
        heldItems: this.backlog.size,
        waitingChunks: chunks,
        rowForwardsPerSecond: rates.rowForwardsPerSecond,
      });
  }

  private apply(
    d: Decision,
    seen: { heldItems: number; waitingChunks: number; rowForwardsPerSecond: number },
  ): void {
    const from = this.current;
    this.current = d.threshold;
    this.changedAt = this.now();
    this.opts.engine.setAutoThreshold(d.threshold);
    this.opts.metrics?.autoThreshold.set({ model: this.opts.model }, d.threshold);
    this.opts.metrics?.budgetDecisions.inc({ reason: d.reason });
    this.opts.log.info(
      {
        model: this.opts.model,
        from,
        to: d.threshold,
        reason: d.reason,
        predicted_finish: new Date(d.predictedFinishAt).toISOString(),
        predicted_misses: d.predictedMisses,
        held_items: seen.heldItems,
        waiting_chunks: seen.waitingChunks,
        row_forwards_per_second: Math.round(seen.rowForwardsPerSecond),
      },
      'budget: auto threshold changed',
    );
  }
}
