import type { GenerationParams } from '../params';
import { uniformSchedule } from './policies';
import type { SamplingOptions } from './proposals';

/** The final forward's sampling: the most likely token everywhere. */
const GREEDY: SamplingOptions = { temperature: 0, top_p: 1 };

/** What a row's budget depends on beyond its params. */
export interface BudgetShape {
  /** canvas positions to generate */
  genLength: number;
  /** decoding blocks in the canvas */
  blocks: number;
  blockLength: number;
  /** one token per forward: every forward commits its one position */
  autoregressive: boolean;
  /** infill rows never stop at EOS (the suffix follows the canvas) */
  infill: boolean;
}

/**
 * A row's step budget, in one place: how many forwards it may take (max_steps; the last allowed one
 * commits everything left, greedily), the floor on forwards (min_steps), the fixed policy's
 * per-block schedule, and whether an EOS ends the text early.
 */
export class StepBudget {
  /** forwards taken */
  steps = 0;
  readonly maxSteps: number;
  /** an EOS may be committed, and ends the text (everything after it is padding) */
  readonly eosEnds: boolean;
  private readonly minSteps: number;
  private readonly stepsPerBlock: number;
  private readonly autoregressive: boolean;
  private stepInBlock = 0;

  constructor(params: GenerationParams, shape: BudgetShape) {
    this.autoregressive = shape.autoregressive;
    this.maxSteps = shape.autoregressive ? shape.genLength : (params.max_steps ?? shape.genLength);
    this.minSteps = params.min_steps;
    this.stepsPerBlock =
      params.max_steps !== undefined
        ? Math.max(1, Math.floor(params.max_steps / shape.blocks))
        : Math.ceil(shape.blockLength / params.tokens_per_step);
    this.eosEnds = !shape.infill && params.stop_at_eos;
  }

  /** The next forward is the last allowed one: it commits the whole canvas. Never for an AR row (each forward commits its one token: no "rest"). */
  get finalCommit(): boolean {
    return !this.autoregressive && this.steps + 1 >= this.maxSteps;
  }

  /** Counts a forward; returns whether it is the final commit, and the sampling it commits with. */
  take(params: SamplingOptions): { final: boolean; sampling: SamplingOptions } {
    const final = this.finalCommit;
    this.steps++;
    return { final, sampling: final ? GREEDY : params };
  }

  /**
   * What the forward just taken commits of its `candidates`: all of them on the final commit and
   * for an AR row (its block is its one next position, whatever the policy says); otherwise the
   * policy's choice, capped so that the `maskedLeft` tokens spread over the forwards min_steps
   * still requires.
   */
  choose<T>(candidates: T[], final: boolean, maskedLeft: number, select: (c: T[]) => T[]): T[] {
    if (final || this.autoregressive) return candidates;
    const chosen = select(candidates);
    const before = this.steps - 1;
    if (before + 1 >= this.minSteps) return chosen;
    return chosen.slice(0, Math.max(1, Math.ceil(maskedLeft / (this.minSteps - before))));
  }

  /** The fixed policy: how many of a `blockLength` block this forward commits (`candidates`: masked positions left). */
  fixedCount(blockLength: number, candidates: number): number {
    const schedule = uniformSchedule(blockLength, Math.min(this.stepsPerBlock, blockLength));
    return this.stepInBlock < schedule.length ? schedule[this.stepInBlock]! : candidates;
  }

  /** A forward's commits are done; `newBlock`: the row moved on to a later block. */
  endStep(newBlock: boolean): void {
    this.stepInBlock = newBlock ? 0 : this.stepInBlock + 1;
  }
}
