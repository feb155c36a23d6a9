import type { ModelBundle } from '../bundle/model-bundle';
import type { ForwardResult } from '../runtime/forward-pass';
import { CACHED_BLOCK_LENGTH, type GenerationParams } from '../params';
import { MASK_PLACEHOLDER } from '../request/canvas';
import { rowLengthProblem } from '../request/length-check';
import { modelParamsProblem } from '../request/model-rules';
import { exactPlan, type ExactPlan } from './exact-plan';
import type { FinishReason, GenerationResult, GenerationTask, IntermediateState } from '../types';
import { CanvasBlocks } from './blocks';
import {
  type Candidate,
  selectEntropy,
  selectFactor,
  selectFixed,
  selectThreshold,
} from './policies';
import { propose, reduceLogits, type TopK } from './proposals';
import { Rng, randomSeed } from './rng';
import { StepBudget } from './step-budget';
import { GenerationError } from '../errors';

export { GenerationError } from '../errors';

const GENERIC_TOP_K = 8;
export { MASK_PLACEHOLDER } from '../request/canvas';

/** Which graph a row's next forward needs, and over which positions. */
export type ForwardPlan =
  /** the whole sequence, head everywhere */
  | { graph: 'full' }
  /** the whole sequence; head over [from, to); the cache comes back */
  | { graph: 'refresh'; from: number; to: number }
  /** the span [from, to) against cached positions [0, cached), the span itself excepted; `rightHalo`: the span ends before the row does */
  | { graph: 'step'; from: number; to: number; cached: number; rightHalo: boolean }
  /** causal / block-causal models: a span against the exact cache (sampler/exact-plan.ts) */
  | ExactPlan;

/** What a row plans its next forward by, of the caches the scheduler keeps for it (scheduler/row-caches.ts). */
export interface RowCacheState {
  /** the refresh cache: the block it was taken for (a new block needs a refresh) and its age */
  refresh?: { blockStart: number; stepsSinceRefresh: number };
  /** positions [0, exactLength) are in the exact cache (causal / block-causal models) */
  exactLength: number;
}

/**
 * One sequence being denoised: prompt (or prefix) | canvas of masks | (suffix).
 * `step` consumes this row's slice of a forward and commits tokens by the row's policy and budget.
 */
export class Row {
  readonly ids: Int32Array;
  readonly seed: number;
  readonly promptTokens: number;
  readonly submittedAt: number;
  startedAt = -1;
  cancelled = false;

  private readonly canvasStart: number;
  private readonly canvasEnd: number;
  private readonly masked: Uint8Array;
  private maskedLeft: number;
  private readonly blocks: CanvasBlocks;
  private blockStart: number;
  /** max/min steps, the final greedy commit, the fixed schedule, EOS (step-budget.ts) */
  private readonly budget: StepBudget;
  private firstEos = -1;
  private readonly rng: Rng;
  private readonly disallowed: Set<number>;
  /** committed instead when every top-K candidate is a padding row the tokenizer cannot decode */
  private readonly fallbackId: number;
  private readonly eosIds: ReadonlySet<number>;
  /** resolved from params.cache and what the bundle supports */
  readonly cacheMode: 'dual' | 'prefix' | 'none';
  /** causal and block-causal models: one token per forward (AR) */
  private readonly autoregressive: boolean;
  readonly usesExactCache: boolean;
  /** shifted logits: forwards start one position left of the block (see exact-plan.ts) */
  private readonly lead: number;
  /** budget "auto": the threshold the worker's controller gave it as it started (null: params.threshold) */
  private autoThreshold: number | null = null;

  constructor(
    readonly id: string,
    task: GenerationTask,
    readonly params: GenerationParams,
    private readonly bundle: ModelBundle,
    now: number,
  ) {
    const tok = bundle.tokenizer;
    const isInfill = 'prefix' in task;
    const before = isInfill
      ? tok.encode(task.prefix)
      : tok.encode(task.prompt, { specials: task.chat === true });
    const after = isInfill ? tok.encode(task.suffix) : [];
    const gen = params.gen_length;
    const tooLong = rowLengthProblem(
      task,
      { before: before.length, after: after.length },
      gen,
      bundle,
    );
    if (tooLong) throw new GenerationError(tooLong);
    const unfit = modelParamsProblem(bundle, params, isInfill);
    if (unfit) throw new GenerationError(unfit);
    this.promptTokens = before.length + after.length;
    this.ids = Int32Array.from([
      ...before,
      ...new Array<number>(gen).fill(bundle.maskId),
      ...after,
    ]);
    this.canvasStart = before.length;
    this.canvasEnd = before.length + gen;
    this.masked = new Uint8Array(this.ids.length);
    this.masked.fill(1, this.canvasStart, this.canvasEnd);
    this.maskedLeft = gen;
    const topology = bundle.attention.type;
    // causal / block-causal: the prefix cache is exact, a dual one meaningless (refused above)
    const autoMode = topology !== 'bidirectional' ? 'prefix' : 'dual';
    const mode = params.cache === 'auto' ? (bundle.cacheGraphs ? autoMode : 'none') : params.cache;
    if (mode !== 'none' && !bundle.cacheGraphs) {
      throw new GenerationError(
        `cache "${mode}" needs a model with cache graphs; ${bundle.name} has none (use cache "none")`,
      );
    }
    this.cacheMode = mode;
    this.autoregressive = bundle.kind === 'autoregressive';
    // causal / block-causal: blocks aligned to the graph's
    const aligned = topology !== 'bidirectional';
    this.usesExactCache = aligned && mode !== 'none';
    this.lead = bundle.shiftLogits ? 1 : 0;
    const blockLength = aligned
      ? bundle.attention.blockSize!
      : (params.block_length ?? (mode === 'none' ? gen : Math.min(CACHED_BLOCK_LENGTH, gen)));
    this.blocks = new CanvasBlocks(this.canvasStart, this.canvasEnd, blockLength, aligned);
    this.blockStart = this.canvasStart;
    this.budget = new StepBudget(params, {
      genLength: gen,
      blocks: this.blocks.count,
      blockLength,
      autoregressive: this.autoregressive,
      infill: isInfill,
    });
    this.seed = params.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
    this.eosIds = new Set(bundle.eosIds);
    this.disallowed = new Set([bundle.maskId, bundle.padId]);
    // Real checkpoints pad their embedding past the tokenizer (Qwen2.5: 151936 rows for 151665
    // tokens). Those rows name no text: a sampled one could never be decoded, so never propose it.
    for (let id = bundle.tokenizer.vocabSize; id < bundle.vocabSize; id++) this.disallowed.add(id);
    this.fallbackId = this.eosIds.values().next().value ?? bundle.padId;
    if (!this.budget.eosEnds) for (const e of this.eosIds) this.disallowed.add(e);
    this.submittedAt = now;
  }

  get length(): number {
    return this.ids.length;
  }

  /** forwards taken */
  get steps(): number {
    return this.budget.steps;
  }

  /**
   * budget "auto": run at the controller's threshold, raised to the row's quality_floor and capped
   * at its own threshold. Only before its first forward: a running row is never changed.
   */
  startAutoAt(threshold: number): void {
    if (this.params.budget !== 'auto' || this.steps > 0) return;
    const floor = this.params.quality_floor ?? 0;
    this.autoThreshold = Math.min(this.params.threshold, Math.max(threshold, floor));
  }

  get done(): boolean {
    return this.maskedLeft === 0;
  }

  private get blockEnd(): number {
    return this.blocks.endFrom(this.blockStart);
  }

  /**
   * The next forward this row needs. Without a cache, or on the last allowed forward (which commits
   * the whole canvas), the full graph. With one: a refresh at each block start (and every
   * `cache_refresh_every` steps), and otherwise a step over the block (dual: against every other
   * position; prefix: the block and all after it, against what precedes the block). `cache`: what
   * the scheduler holds for this row now.
   */
  plan(cache: RowCacheState): ForwardPlan {
    if (this.cacheMode === 'none' || this.budget.finalCommit) return { graph: 'full' };
    if (this.usesExactCache) {
      return exactPlan({
        blockStart: this.blockStart,
        blockEnd: this.blockEnd,
        cached: cache.exactLength,
        blockSize: this.blocks.length,
        shift: this.bundle.shiftLogits,
        causal: this.bundle.attention.type === 'causal',
      });
    }
    const every = this.params.cache_refresh_every;
    const c = cache.refresh;
    // shifted logits: the block's first prediction is the output of the slot before it, so the
    // head and the fresh span start one position left (that slot is left out of the past)
    const from = this.blockStart - this.lead;
    if (!c || c.blockStart !== from || (every > 0 && c.stepsSinceRefresh >= every)) {
      return { graph: 'refresh', from, to: this.blockEnd };
    }
    return this.cacheMode === 'dual'
      ? {
          graph: 'step',
          from,
          to: this.blockEnd,
          cached: this.ids.length,
          rightHalo: true,
        }
      : {
          graph: 'step',
          from,
          to: this.ids.length,
          cached: from,
          rightHalo: false,
        };
  }

  /**
   * Consume row `r` of a forward's outputs (whose position 0 is this row's position `offset`):
   * propose, select by policy and budget, commit.
   */
  step(out: ForwardResult, r: number, offset = 0): void {
    const { final, sampling } = this.budget.take(this.params);
    // the final allowed forward commits everything left, greedily, later blocks included
    const [from, to] = final
      ? [this.canvasStart, this.canvasEnd]
      : [this.blockStart, this.blockEnd];
    const proposals = new Map<number, number>();
    const candidates: Candidate[] = [];
    for (let p = from; p < to; p++) {
      if (!this.masked[p]) continue;
      const prop = propose(
        this.distribution(out, r, p - offset),
        this.disallowed,
        sampling,
        this.rng,
      );
      // propose() falls back to the best candidate when all are disallowed; an undecodable one
      // would kill the engine thread at decode, so end the text there instead.
      if (prop.token >= this.bundle.tokenizer.vocabSize) prop.token = this.fallbackId;
      proposals.set(p, prop.token);
      candidates.push({ position: p, confidence: prop.confidence, entropy: prop.entropy });
    }
    const chosen = this.budget.choose(candidates, final, this.maskedLeft, (c) => this.select(c));
    for (const c of chosen) this.commit(c.position, proposals.get(c.position)!);
    const block = this.blockStart;
    while (this.blockStart < this.canvasEnd && !this.anyMasked(this.blockStart, this.blockEnd))
      this.blockStart = this.blockEnd;
    this.budget.endStep(this.blockStart !== block);
  }

  private select(c: Candidate[]): Candidate[] {
    const p = this.params;
    switch (p.policy) {
      case 'fixed':
        return selectFixed(c, this.budget.fixedCount(this.blockEnd - this.blockStart, c.length));
      case 'threshold':
        return selectThreshold(c, this.autoThreshold ?? p.threshold);
      case 'factor':
        return selectFactor(c, p.factor);
      case 'entropy':
        return selectEntropy(c, p.entropy_budget);
    }
  }

  /** `p` counts from the output's first position */
  private distribution(out: ForwardResult, r: number, p: number): TopK {
    const q = this.bundle.shiftLogits ? Math.max(0, p - 1) : p;
    const at = r * out.length + q;
    if (out.topIds && out.topProbs) {
      const ids: number[] = [];
      const probs: number[] = [];
      for (let i = 0; i < out.k; i++) {
        ids.push(Number(out.topIds[at * out.k + i]));
        probs.push(out.topProbs[at * out.k + i]!);
      }
      return { ids, probs, entropy: out.entropy ? out.entropy[at]! : 0 };
    }
    return reduceLogits(out.logits!, at * out.vocab, out.vocab, GENERIC_TOP_K);
  }

  private commit(p: number, token: number): void {
    if (!this.masked[p]) return;
    this.ids[p] = token;
    this.masked[p] = 0;
    this.maskedLeft--;
    if (this.eosIds.has(token) && this.budget.eosEnds && (this.firstEos < 0 || p < this.firstEos)) {
      // end of text: everything after it is padding, so it needs no more forwards
      this.firstEos = p;
      for (let q = p + 1; q < this.canvasEnd; q++) {
        if (this.masked[q]) {
          this.masked[q] = 0;
          this.maskedLeft--;
        }
        this.ids[q] = this.bundle.eosId;
      }
    }
  }

  private anyMasked(from: number, to: number): boolean {
    for (let p = from; p < to; p++) if (this.masked[p]) return true;
    return false;
  }

  private outputEnd(): number {
    return this.firstEos >= 0 ? this.firstEos : this.canvasEnd;
  }

  /** The canvas as text, masked positions shown as a placeholder (the "diffusing" view). */
  intermediate(): IntermediateState {
    const tok = this.bundle.tokenizer;
    let text = '';
    let run: number[] = [];
    const end = this.outputEnd();
    for (let p = this.canvasStart; p < end; p++) {
      if (this.masked[p]) {
        text += tok.decode(run, { skipSpecial: true }) + MASK_PLACEHOLDER;
        run = [];
      } else run.push(this.ids[p]!);
    }
    text += tok.decode(run, { skipSpecial: true });
    return { step: this.steps, text, masked: this.maskedLeft };
  }

  result(now: number, reason?: FinishReason): GenerationResult {
    const end = this.outputEnd();
    let text =
      reason === 'cancelled'
        ? ''
        : this.bundle.tokenizer.decode(this.ids.subarray(this.canvasStart, end), {
            skipSpecial: true,
          });
    let finish: FinishReason = reason ?? (this.firstEos >= 0 ? 'stop' : 'length');
    if (!reason) {
      const cut = Math.min(
        ...(this.params.stop ?? []).map((s) => text.indexOf(s)).filter((i) => i >= 0),
      );
      if (Number.isFinite(cut)) {
        text = text.slice(0, cut);
        finish = 'stop';
      }
    }
    const started = this.startedAt < 0 ? now : this.startedAt;
    return {
      text,
      finish_reason: finish,
      steps: this.steps,
      tokens: reason === 'cancelled' ? 0 : end - this.canvasStart,
      prompt_tokens: this.promptTokens,
      queue_ms: Math.round(Math.max(0, started - this.submittedAt)),
      compute_ms: Math.round(Math.max(0, now - started)),
      seed: this.seed,
      budget: this.params.budget,
      applied_threshold:
        this.params.policy === 'threshold' ? (this.autoThreshold ?? this.params.threshold) : null,
      applied_max_steps: this.budget.maxSteps,
    };
  }
}
