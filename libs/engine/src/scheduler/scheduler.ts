import type { ModelBundle } from '../bundle/model-bundle';
import type { ForwardPass, ForwardResult } from '../runtime/forward-pass';
import type { ExactPlan } from '../sampler/exact-plan';
import { type ForwardPlan, GenerationError, Row } from '../sampler/row';
import { retryRowsAlone } from './isolate-forward';
import type { GenerationRequest, GenerationResult, IntermediateState } from '../types';
import { fullBatch, refreshBatch } from './row-cache';
import { RowCaches } from './row-caches';

export interface SchedulerOptions {
  /** most rows in one forward */
  maxRows: number;
  /** most tokens (rows x padded length) in one forward */
  maxTokens: number;
  /** a waiting row passed over this many times is admitted next, whatever its length */
  maxPassOvers?: number;
  /**
   * Phase-aware refreshes: a row due a cache refresh while other rows step may sit out up to this
   * many steps, so rows whose blocks end close together share one refresh call instead of each
   * adding a small one (0 = never wait). See holdRefreshes.
   */
  refreshHoldSteps?: number;
  /** a refresh call goes ahead, without waiting, once this many rows are due one */
  refreshMinRows?: number;
  /**
   * Pack step calls to the row budget: a running row between blocks (due a refresh, or held for
   * one) lends its place in the step call to a waiting row, which starts now and refreshes with it.
   * The active set may then pass maxRows; no single call does (rows over the budget sit a step out).
   */
  packStepCalls?: boolean;
  /**
   * With packStepCalls, this many rows beyond maxRows plus the lent places may be active, so a row
   * that reaches its block end finds a row ready to take its place in the step call; the surplus
   * sits steps out (fitCall). Costs the block-cache memory of those rows. Default 0.
   */
  packAheadRows?: number;
  now?: () => number;
}

export type GraphCounts = Record<ForwardPlan['graph'], number>;

export interface StepStats {
  steps: number;
  /** forwards run, by graph (a step may run one of each); prefill/extend: exact-cache spans (causal, block-causal) */
  forwards: GraphCounts;
  /** rows those forwards carried, by graph: rows[g] / forwards[g] is the mean rows per call */
  rowsByGraph: GraphCounts;
  forwardMs: number;
  /** whole step: admission, batch building, forward, sampling, bookkeeping */
  stepMs: number;
  rowsInForwards: number;
  /** row-steps sat out waiting to share a refresh call (refreshHoldSteps) */
  heldRows: number;
  /** row-steps sat out because their call was already at the row or token budget (packStepCalls) */
  satOutRows: number;
  /** steps run while rows were still waiting for a slot (the batch as full as its limits allow), and their rows in forwards */
  saturatedSteps: number;
  saturatedRows: number;
  /** the same steps' forwards and rows by graph: how full each call was while there was work to fill it */
  saturatedForwards: GraphCounts;
  saturatedRowsByGraph: GraphCounts;
  /** positions fed to forwards, padding included (full/refresh: sequences; step: spans) */
  paddedTokens: number;
  realTokens: number;
  completedRows: number;
  /** bytes of cached keys/values/halo held by active rows now */
  cacheBytes: number;
}

type Groups = Record<ForwardPlan['graph'], Entry[]>;
const GRAPHS = ['full', 'refresh', 'step', 'prefill', 'extend'] as const;
const noCounts = (): GraphCounts => ({ full: 0, refresh: 0, step: 0, prefill: 0, extend: 0 });

/** What one scheduler step runs: one forward call per non-empty group. */
interface StepWork {
  groups: Groups;
  plans: Map<Entry, ForwardPlan>;
  /** rows were still waiting for a slot when the step was scheduled */
  saturated: boolean;
}

interface Entry {
  row: Row;
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onIntermediate?: (s: IntermediateState) => void;
  passOvers: number;
  /** steps sat out in a row waiting for others to share a refresh call */
  held: number;
  /** steps sat out in a row because the call was full: the longest-waiting go first */
  satOut: number;
  /** higher first: an interactive request takes the next free slot ahead of bulk rows */
  priority: number;
  /** ran in the last step call: it keeps its place (and its batch slot) while the call is over budget */
  inStepCall: boolean;
}

/**
 * Continuous batching over denoising steps. Every step gives each active row one forward: rows are
 * grouped by the graph they need (full recompute, cache refresh at a block start, or a cached step
 * over their block), one call per group, each padded to its longest row. A row that finishes leaves
 * (its cache with it) and a waiting row takes its slot at the next step.
 * Admission prefers waiting rows whose length is close to the batch's (less padding) but never
 * starves a row: after `maxPassOvers` pass-overs it goes first. The token budget (rows x padded
 * length) also bounds cache memory: a row caches at most its own length.
 */
export class Scheduler {
  private readonly waiting: Entry[] = [];
  private readonly active: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  private running: Promise<void> | null = null;
  private readonly now: () => number;
  /** the budget controller's threshold for budget "auto" rows, applied as each starts (null: their own) */
  autoThreshold: number | null = null;
  readonly stats: StepStats = {
    steps: 0,
    forwards: noCounts(),
    rowsByGraph: noCounts(),
    forwardMs: 0,
    stepMs: 0,
    rowsInForwards: 0,
    heldRows: 0,
    satOutRows: 0,
    saturatedSteps: 0,
    saturatedRows: 0,
    saturatedForwards: noCounts(),
    saturatedRowsByGraph: noCounts(),
    paddedTokens: 0,
    realTokens: 0,
    completedRows: 0,
    cacheBytes: 0,
  };
  /** every active row's block cache, and the batch buffers they are copied into */
  private readonly caches = new RowCaches(this.stats);

  constructor(
    private readonly forward: ForwardPass,
    private readonly bundle: ModelBundle,
    private readonly opts: SchedulerOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** rows whose block cache was copied into a step call's batch buffers (a new or moved slot) */
  get stepCacheCopies(): number {
    return this.caches.stepCacheCopies;
  }

  get load(): { active: number; waiting: number } {
    return { active: this.active.length, waiting: this.waiting.length };
  }

  /** Queue a request; the promise settles when its row finishes, is cancelled, or fails. */
  submit(
    id: string,
    req: GenerationRequest,
    onIntermediate?: (s: IntermediateState) => void,
    priority = 0,
  ): Promise<GenerationResult> {
    if (this.byId.has(id))
      return Promise.reject(new GenerationError(`request id ${id} is already in flight`));
    let row: Row;
    try {
      row = new Row(id, req.task, req.params, this.bundle, this.now());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (row.length > this.opts.maxTokens) {
      return Promise.reject(
        new GenerationError(
          `row of ${row.length} tokens exceeds the batch token limit ${this.opts.maxTokens}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const entry: Entry = {
        row,
        resolve,
        reject,
        onIntermediate,
        passOvers: 0,
        held: 0,
        satOut: 0,
        priority,
        inStepCall: false,
      };
      this.waiting.push(entry);
      this.byId.set(id, entry);
      this.kick();
    });
  }

  /** Takes effect before the next forward; the request resolves with finish_reason "cancelled". */
  cancel(id: string): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    e.row.cancelled = true;
    const w = this.waiting.indexOf(e);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      this.settle(e);
    }
    return true;
  }

  /** Resolves once nothing is active or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = (async () => {
      try {
        // start on the next turn of the event loop, so a burst of submissions shares the first forward
        await new Promise<void>((r) => setImmediate(r));
        while (this.active.length || this.waiting.length) {
          await this.step();
          // let messages (new requests, cancellations) in between steps
          await new Promise<void>((r) => setImmediate(r));
        }
      } finally {
        this.running = null;
      }
    })();
  }

  private settle(e: Entry, error?: Error): void {
    this.byId.delete(e.row.id);
    this.caches.drop(e.row);
    if (error) e.reject(error);
    else e.resolve(e.row.result(this.now(), e.row.cancelled ? 'cancelled' : undefined));
  }

  /**
   * Fills free places from the waiting rows. A place is a row of the step call: with packStepCalls
   * a running row between blocks lends its own, so the waiting row starts beside it and both refresh
   * in one call (their blocks start together from then on) while the step call stays full.
   */
  private admit(): void {
    const passMax = this.opts.maxPassOvers ?? 4;
    // places beyond maxRows: those lent by rows between blocks, and the rows run ahead to fill them
    const extra = this.opts.packStepCalls ? this.lentPlaces() + (this.opts.packAheadRows ?? 0) : 0;
    let length = this.active.reduce((m, e) => Math.max(m, e.row.length), 0);
    while (this.waiting.length && this.active.length < this.opts.maxRows + extra) {
      let pick = 0;
      const top = this.waiting.reduce((m, e) => Math.max(m, e.priority), 0);
      if (top > 0) {
        // a prioritised row goes first, whatever its length (FIFO among them)
        pick = this.waiting.findIndex((e) => e.priority === top);
      } else if (this.active.length && this.waiting[0]!.passOvers < passMax) {
        // closest in length to the batch, shorter-or-equal preferred; FIFO among equals
        let best = Infinity;
        for (let i = 0; i < this.waiting.length; i++) {
          const len = this.waiting[i]!.row.length;
          const cost = len <= length ? length - len : 2 * (len - length);
          if (cost < best) {
            best = cost;
            pick = i;
            if (cost === 0) break;
          }
        }
      }
      const cand = this.waiting[pick]!;
      const newLength = Math.max(length, cand.row.length);
      // the rows one call would carry once this one runs (the extra places sit out or are in another call)
      if ((this.active.length + 1 - extra) * newLength > this.opts.maxTokens) break;
      this.waiting.splice(pick, 1);
      for (let i = 0; i < pick; i++) this.waiting[i]!.passOvers++;
      cand.row.startedAt = this.now();
      if (this.autoThreshold !== null) cand.row.startAutoAt(this.autoThreshold);
      this.active.push(cand);
      length = newLength;
    }
  }

  /** running rows between blocks (due a refresh): each lends its place in the step call, up to maxRows */
  private lentPlaces(): number {
    let n = 0;
    for (const e of this.active) if (e.row.steps > 0 && this.planOf(e.row).graph === 'refresh') n++;
    return Math.min(n, this.opts.maxRows);
  }

  /** One denoising step for every active row: schedule it, run its forwards, then retire finished rows. */
  private async step(): Promise<void> {
    const t0 = this.now();
    const work = this.schedule();
    if (!work) return;
    const forwardMs = await this.run(work);
    this.postprocess(work, forwardMs, t0);
  }

  /**
   * Who runs this step, in which call: cancelled rows leave, waiting rows are admitted, each active
   * row is planned (full / refresh / step / exact span), refreshes may wait for company, and each
   * call is cut to the row and token budget. Null when nothing is active.
   */
  private schedule(): StepWork | null {
    for (let i = this.active.length - 1; i >= 0; i--) {
      if (this.active[i]!.row.cancelled) this.settle(this.active.splice(i, 1)[0]!);
    }
    this.admit();
    if (!this.active.length) return null;
    const groups: Groups = { full: [], refresh: [], step: [], prefill: [], extend: [] };
    const plans = new Map<Entry, ForwardPlan>();
    for (const e of this.active) {
      const plan = this.planOf(e.row);
      plans.set(e, plan);
      groups[plan.graph].push(e);
    }
    groups.refresh = this.holdRefreshes(groups.refresh, groups.step.length + groups.full.length);
    for (const graph of GRAPHS) groups[graph] = this.fitCall(groups[graph]);
    for (const e of this.active) e.inStepCall = false;
    for (const e of groups.step) e.inStepCall = true;
    return { groups, plans, saturated: this.waiting.length > 0 };
  }

  /** One forward call per group (a failed call is retried row by row); returns the ms they took. */
  private async run(work: StepWork): Promise<number> {
    let forwardMs = 0;
    for (const graph of GRAPHS) {
      const group = work.groups[graph];
      if (!group.length) continue;
      const f0 = this.now();
      try {
        await this.runGroup(graph, group, work.plans);
      } catch (err) {
        // one bad row must not fail its neighbours: its rows are retried one at a time
        await retryRowsAlone(
          group,
          err as Error,
          (rows) => this.runGroup(graph, rows, work.plans),
          (e, error) => {
            if (this.byId.has(e.row.id)) this.settle(e, error);
          },
        );
      }
      forwardMs += this.now() - f0;
      this.stats.forwards[graph]++;
      this.stats.rowsByGraph[graph] += group.length;
      if (work.saturated) {
        this.stats.saturatedForwards[graph]++;
        this.stats.saturatedRowsByGraph[graph] += group.length;
      }
    }
    return forwardMs;
  }

  /** Finished rows leave (their results settle), failed ones are dropped; the step's stats. */
  private postprocess(work: StepWork, forwardMs: number, t0: number): void {
    for (let r = this.active.length - 1; r >= 0; r--) {
      const e = this.active[r]!;
      if (e.row.done && this.byId.has(e.row.id)) {
        this.active.splice(r, 1);
        this.stats.completedRows++;
        this.settle(e);
      } else if (!this.byId.has(e.row.id)) this.active.splice(r, 1);
    }
    const s = this.stats;
    if (work.saturated) {
      s.saturatedSteps++;
      for (const graph of GRAPHS) s.saturatedRows += work.groups[graph].length;
    }
    s.steps++;
    s.forwardMs += forwardMs;
    s.stepMs += this.now() - t0;
  }

  /**
   * The rows of one call that fit its budget (maxRows rows, maxTokens as rows x longest): prioritised
   * rows first, then those that ran in the last step call (an incumbent keeps its place, so its
   * cache stays in its batch slot and is not copied again), then those that sat out longest, in
   * batch order. The rest sit this step out. Only timing changes, as with held refreshes. A no-op
   * unless packStepCalls let the active set grow.
   */
  private fitCall(group: Entry[]): Entry[] {
    const longest = group.reduce((m, e) => Math.max(m, e.row.length), 0);
    const fits = Math.min(
      this.opts.maxRows,
      Math.floor(this.opts.maxTokens / Math.max(1, longest)),
    );
    if (group.length <= fits) {
      for (const e of group) e.satOut = 0;
      return group;
    }
    const chosen = new Set(
      [...group]
        .sort(
          (a, b) =>
            b.priority - a.priority ||
            Number(b.inStepCall) - Number(a.inStepCall) ||
            b.satOut - a.satOut,
        )
        .slice(0, fits),
    );
    for (const e of group) {
      if (chosen.has(e)) e.satOut = 0;
      else {
        e.satOut++;
        this.stats.satOutRows++;
      }
    }
    return group.filter((e) => chosen.has(e));
  }

  /**
   * The rows due a refresh that refresh this step. A refresh call is worth several step calls, and
   * a small one costs far more per row than a full one, so while other rows step (their call runs
   * anyway) the due rows wait for company: the call goes ahead once `refreshMinRows` are due, once
   * one of them has waited `refreshHoldSteps`, or when nothing else runs this step. Whoever is due
   * then joins. Only timing changes: a row's forwards and commits are the same, a step later.
   */
  private holdRefreshes(due: Entry[], othersRunning: number): Entry[] {
    const hold = this.opts.refreshHoldSteps ?? 0;
    const minRows = this.opts.refreshMinRows ?? 1;
    const go =
      hold <= 0 ||
      !othersRunning ||
      due.length >= minRows ||
      due.some((e) => e.held >= hold || e.priority > 0);
    if (go) {
      for (const e of due) e.held = 0;
      return due;
    }
    for (const e of due) e.held++;
    this.stats.heldRows += due.length;
    return [];
  }

  /** One forward for rows that need the same graph, then each row consumes its slice. */
  private async runGroup(
    graph: ForwardPlan['graph'],
    group: Entry[],
    plans: Map<Entry, ForwardPlan>,
  ): Promise<void> {
    const span = (e: Entry) => plans.get(e) as Extract<ForwardPlan, { from: number }>;
    let out: ForwardResult;
    let offsets: number[];
    let tokens: number;
    if (graph === 'full') {
      const batch = fullBatch(
        group.map((e) => e.row.ids),
        this.bundle.padId,
      );
      out = await this.forward.run(batch);
      offsets = group.map(() => 0);
      tokens = batch.rows * batch.length;
    } else if (graph === 'refresh') {
      const g = this.requireCacheGraphs();
      const rows = group.map((e) => ({ ids: e.row.ids, from: span(e).from, to: span(e).to }));
      const batch = refreshBatch(rows, this.bundle.padId, g.halo);
      const res = await this.forward.refresh!(batch);
      this.caches.takeRefresh(
        group.map((e) => e.row),
        res,
        batch.length,
        rows,
        g,
      );
      out = res.head;
      offsets = rows.map((r) => r.from);
      tokens = batch.rows * batch.length;
    } else if (graph === 'prefill' || graph === 'extend') {
      // causal / block-causal: spans against the exact cache (exact-cache.ts)
      const g = this.requireCacheGraphs();
      if (!this.forward.decode)
        throw new GenerationError(`${this.bundle.name}: this runtime has no decoder graph`);
      const rows = group.map((e) => ({ entry: e, row: e.row, plan: plans.get(e) as ExactPlan }));
      const res = await this.caches.runExact(rows, (b) => this.forward.decode!(b), g);
      out = res.out.head;
      group = res.order.map((r) => r.entry);
      offsets = res.order.map((r) => r.plan.headFrom);
      tokens = res.tokens;
    } else {
      const rows = group.map((e) => ({
        entry: e,
        row: e.row,
        span: plans.get(e) as Extract<ForwardPlan, { graph: 'step' }>,
      }));
      const { batch, order } = this.caches.stepBatch(rows, this.requireCacheGraphs());
      out = await this.forward.step!(batch);
      group = order.map((r) => r.entry); // rows keep their batch slots: consume in batch order
      offsets = order.map((r) => r.span.from);
      tokens = batch.rows * batch.span;
    }
    this.stats.rowsInForwards += group.length;
    this.stats.paddedTokens += tokens;
    this.stats.realTokens += group.reduce((a, e) => {
      const p = plans.get(e)!;
      return a + (p.graph === 'full' || p.graph === 'refresh' ? e.row.length : p.to - p.from);
    }, 0);
    group.forEach((e, r) => {
      try {
        e.row.step(out, r, offsets[r]);
        this.caches.stepped(e.row);
        const every = e.row.params.intermediate_every;
        if (e.onIntermediate && every > 0 && (e.row.steps % every === 0 || e.row.done))
          e.onIntermediate(e.row.intermediate());
      } catch (err) {
        e.row.cancelled = true;
        this.settle(e, err as Error);
      }
    });
  }

  /** The row's next forward, given the caches held for it. */
  private planOf(row: Row): ForwardPlan {
    return row.plan(this.caches.stateOf(row));
  }

  private requireCacheGraphs() {
    const g = this.bundle.cacheGraphs;
    if (!g || !this.forward.refresh || !this.forward.step)
      throw new GenerationError(`${this.bundle.name}: this runtime has no cache graphs`);
    return g;
  }
}
