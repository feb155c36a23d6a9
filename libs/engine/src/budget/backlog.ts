import type { GenerationParams } from '../params';
import { parseDeadline } from '../request/deadline';
import { LEVELS, type BacklogEntry, type Rates } from './budget-controller';

/** One item this worker has claimed and not yet ended, as the budget controller sees it. */
export interface HeldItem {
  /** tokens it will generate (gen_length: the whole canvas, even once it has started) */
  tokens: number;
  /** epoch ms; null = none */
  deadline: number | null;
  budget: 'auto' | 'fixed';
  /** auto: its quality_floor (default: the lowest level) */
  floor: number;
  /** its own threshold (auto rows never run above it) */
  threshold: number;
  /** fixed: tokens per forward of its own setting, given the measured rates */
  tokensPerForward: (rates: Rates) => number;
}

/** The queue's chunks no worker has claimed yet, as far as they could be seen (QueuePeek). */
export interface WaitingWork {
  /** seen chunks: their item count, and one item as their batch's defaults describe it (null: unknown) */
  chunks: Array<{ items: number; item: HeldItem | null }>;
  /** waiting chunks beyond those seen: only counted */
  unseenChunks: number;
  itemsPerChunk: number;
}

export const NO_WAITING_WORK: WaitingWork = { chunks: [], unseenChunks: 0, itemsPerChunk: 1 };

const LOWEST = LEVELS[LEVELS.length - 1]!;

/** An item's parameters as the controller weighs them; a relative deadline counts from `submittedAt`. */
export function heldItem(params: GenerationParams, submittedAt: number): HeldItem {
  const gen = params.gen_length;
  const at = params.deadline === undefined ? null : parseDeadline(params.deadline, submittedAt);
  // a deadline from before its batch existed (a retried batch copies its source's items) is void
  const deadline = at !== null && at <= submittedAt ? null : at;
  const forwards = params.max_steps ?? gen;
  // what a fixed row costs: threshold rows at their own level; the fixed policy commits
  // tokens_per_step a step (within max_steps); factor/entropy are not measured: priced as threshold 0.9
  const tokensPerForward =
    params.policy === 'threshold'
      ? (r: Rates) => r.tokensPerForward(params.threshold)
      : params.policy === 'fixed'
        ? () => Math.max(params.tokens_per_step, gen / forwards)
        : (r: Rates) => r.tokensPerForward(LEVELS[0]);
  return {
    tokens: gen,
    deadline,
    budget: params.budget,
    floor: params.quality_floor ?? LOWEST,
    threshold: params.threshold,
    tokensPerForward,
  };
}

/**
 * What this worker knows of the work ahead of it, for the budget controller. It sees exactly the
 * items it holds (claimed chunks: running in the engine or waiting for a slot there), with their
 * deadlines and floors. Of the queue it sees the oldest waiting chunks through their batch's default
 * parameters (item overrides only once claimed); chunks beyond those, or of unknown batches, count as
 * fixed-budget work of the held items' mean length and no deadline: they lengthen the predicted
 * finish but never make the controller tighten. With several workers each counts the whole queue
 * (so each may tighten a little early); a running row is counted at its full length.
 */
export class Backlog {
  private readonly held = new Map<string, HeldItem>();

  hold(key: string, item: HeldItem): void {
    this.held.set(key, item);
  }

  get(key: string): HeldItem | undefined {
    return this.held.get(key);
  }

  release(key: string): void {
    this.held.delete(key);
  }

  get size(): number {
    return this.held.size;
  }

  entries(rates: Rates, waiting: WaitingWork): BacklogEntry[] {
    return estimateBacklog([...this.held.values()], rates, waiting);
  }
}

const entry = (h: HeldItem, rates: Rates, items = 1): BacklogEntry =>
  h.budget === 'auto'
    ? { tokens: h.tokens * items, deadline: h.deadline, budget: 'auto', floor: h.floor }
    : {
        tokens: h.tokens * items,
        deadline: h.deadline,
        budget: 'fixed',
        floor: h.floor,
        tokensPerForward: h.tokensPerForward(rates),
      };

/**
 * Held items one entry each, seen waiting chunks one entry each (items x their batch's gen_length),
 * and the rest of the queue as one deadline-free fixed entry.
 */
export function estimateBacklog(
  held: readonly HeldItem[],
  rates: Rates,
  waiting: WaitingWork,
): BacklogEntry[] {
  const out = held.map((h) => entry(h, rates));
  let unknownItems = waiting.unseenChunks * waiting.itemsPerChunk;
  for (const c of waiting.chunks) {
    if (c.item) out.push(entry(c.item, rates, c.items));
    else unknownItems += c.items;
  }
  if (unknownItems > 0) {
    const meanTokens = held.length ? held.reduce((a, h) => a + h.tokens, 0) / held.length : 64;
    out.push({ tokens: unknownItems * meanTokens, deadline: null, budget: 'fixed', floor: LOWEST });
  }
  return out;
}
