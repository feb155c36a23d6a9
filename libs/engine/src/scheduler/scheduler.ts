import type { ModelBundle } from '../bundle/model-bundle';
import type { ForwardPass } from '../runtime/forward-pass';
import { GenerationError, Row } from '../sampler/row';
import { forwardRowsAlone, type RowOutput } from './isolate-forward';
import type { GenerationRequest, GenerationResult, IntermediateState } from '../types';

export interface SchedulerOptions {
  /** most rows in one forward */
  maxRows: number;
  /** most tokens (rows x padded length) in one forward */
  maxTokens: number;
  /** a waiting row passed over this many times is admitted next, whatever its length */
  maxPassOvers?: number;
  now?: () => number;
}

export interface StepStats {
  steps: number;
  forwardMs: number;
  /** whole step: admission, batch building, forward, sampling, bookkeeping */
  stepMs: number;
  rowsInForwards: number;
  paddedTokens: number;
  realTokens: number;
  completedRows: number;
}

interface Entry {
  row: Row;
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onIntermediate?: (s: IntermediateState) => void;
  passOvers: number;
}

/**
 * Continuous batching over denoising steps. Every step runs ONE forward over the active rows; a row
 * that finishes leaves and a waiting row takes its slot at the next step (no KV cache to move).
 * Admission prefers waiting rows whose length is close to the batch's (less padding) but never
 * starves a row: after `maxPassOvers` pass-overs it goes first.
 */
export class Scheduler {
  private readonly waiting: Entry[] = [];
  private readonly active: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  private running: Promise<void> | null = null;
  private readonly now: () => number;
  readonly stats: StepStats = {
    steps: 0,
    forwardMs: 0,
    stepMs: 0,
    rowsInForwards: 0,
    paddedTokens: 0,
    realTokens: 0,
    completedRows: 0,
  };

  constructor(
    private readonly forward: ForwardPass,
    private readonly bundle: ModelBundle,
    private readonly opts: SchedulerOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  get load(): { active: number; waiting: number } {
    return { active: this.active.length, waiting: this.waiting.length };
  }

  /** Queue a request; the promise settles when its row finishes, is cancelled, or fails. */
  submit(id: string, req: GenerationRequest, onIntermediate?: (s: IntermediateState) => void): Promise<GenerationResult> {
    if (this.byId.has(id)) return Promise.reject(new GenerationError(`request id ${id} is already in flight`));
    let row: Row;
    try {
      row = new Row(id, req.task, req.params, this.bundle, this.now());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (row.length > this.opts.maxTokens) {
      return Promise.reject(new GenerationError(`row of ${row.length} tokens exceeds the batch token limit ${this.opts.maxTokens}`));
    }
    return new Promise((resolve, reject) => {
      const entry: Entry = { row, resolve, reject, onIntermediate, passOvers: 0 };
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
    if (error) e.reject(error);
    else e.resolve(e.row.result(this.now(), e.row.cancelled ? 'cancelled' : undefined));
  }

  private admit(): void {
    const passMax = this.opts.maxPassOvers ?? 4;
    let length = this.active.reduce((m, e) => Math.max(m, e.row.length), 0);
    while (this.waiting.length && this.active.length < this.opts.maxRows) {
      let pick = 0;
      if (this.active.length && this.waiting[0]!.passOvers < passMax) {
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
      if ((this.active.length + 1) * newLength > this.opts.maxTokens) break;
      this.waiting.splice(pick, 1);
      for (let i = 0; i < pick; i++) this.waiting[i]!.passOvers++;
      cand.row.startedAt = this.now();
      this.active.push(cand);
      length = newLength;
    }
  }

  private async step(): Promise<void> {
    const t0 = this.now();
    for (let i = this.active.length - 1; i >= 0; i--) {
      if (this.active[i]!.row.cancelled) this.settle(this.active.splice(i, 1)[0]!);
    }
    this.admit();
    if (!this.active.length) return;
    const rows = this.active.length;
    const length = this.active.reduce((m, e) => Math.max(m, e.row.length), 0);
    const ids = new BigInt64Array(rows * length).fill(BigInt(this.bundle.padId));
    const attention = new BigInt64Array(rows * length);
    let real = 0;
    this.active.forEach((e, r) => {
      const seq = e.row.ids;
      for (let p = 0; p < seq.length; p++) {
        ids[r * length + p] = BigInt(seq[p]!);
        attention[r * length + p] = 1n;
      }
      real += seq.length;
    });
    const f0 = this.now();
    let outputs: RowOutput[];
    try {
      const out = await this.forward.run({ rows, length, ids, attention });
      outputs = this.active.map((_, r) => ({ result: out, row: r }));
    } catch (err) {
      // one bad row must not fail its neighbours: retry them one by one; if every row fails
      // alone too, the runtime is at fault and they all fail with its (retryable) error
      const alone = await forwardRowsAlone(this.forward, { rows, length, ids, attention });
      if (!alone) {
        for (const e of this.active.splice(0)) this.settle(e, err as Error);
        return;
      }
      outputs = alone;
    }
    const f1 = this.now();
    for (let r = 0; r < rows; r++) {
      const e = this.active[r]!;
      const output = outputs[r]!;
      try {
        if ('error' in output) throw output.error;
        e.row.step(output.result, output.row);
        const every = e.row.params.intermediate_every;
        if (e.onIntermediate && every > 0 && (e.row.steps % every === 0 || e.row.done)) e.onIntermediate(e.row.intermediate());
      } catch (err) {
        e.row.cancelled = true;
        this.settle(e, err as Error);
      }
    }
    for (let r = rows - 1; r >= 0; r--) {
      const e = this.active[r]!;
      if (e.row.done && this.byId.has(e.row.id)) {
        this.active.splice(r, 1);
        this.stats.completedRows++;
        this.settle(e);
      } else if (!this.byId.has(e.row.id)) this.active.splice(r, 1);
    }
    const s = this.stats;
    s.steps++;
    s.forwardMs += f1 - f0;
    s.stepMs += this.now() - t0;
    s.rowsInForwards += rows;
    s.paddedTokens += rows * length;
    s.realTokens += real;
  }
}
