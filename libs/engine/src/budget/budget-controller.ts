/**
 * The step-budget controller: which `threshold` this worker gives rows that asked for `budget: "auto"`,
 * so that the backlog it sees finishes by its deadlines. Pure: it is handed the backlog and the
 * measured rates and returns a decision; the worker applies it to rows as it starts them.
 *
 * Model: finishing a backlog costs row-forwards. An item of n tokens decoded at threshold t costs
 * n / tokensPerForward(t) row-forwards; the worker delivers `rowForwardsPerSecond`. Items run
 * earliest deadline first, so item k finishes at now + (forwards of items 1..k) / rate. The controller
 * takes the least aggressive level (highest threshold, best quality) at which every deadline is met,
 * never below an item's own `quality_floor`; fixed-budget items keep their own threshold but still
 * take their share of the time. It plans with `planMargin` of each deadline's remaining time held
 * back (rates are measured, not promised: a busier machine or a longer item eats into it), and relaxes
 * only with `relaxMargin` of slack, larger, so it does not flap. When some deadline cannot be met at
 * any level, it takes the gentlest level with the fewest predicted misses: one hopeless item does not
 * drag every auto row down to the most aggressive setting.
 */

import { AUTO_THRESHOLD_LEVELS } from '../params';

/** Threshold levels from gentlest to most aggressive (the parameter schema bounds quality_floor by them). */
export const LEVELS = AUTO_THRESHOLD_LEVELS;

export interface BacklogEntry {
  /** tokens still to generate (items x gen_length) */
  tokens: number;
  /** epoch ms; null = no deadline */
  deadline: number | null;
  /** `auto` entries follow the controller (down to `floor`); `fixed` ones keep `threshold` */
  budget: 'auto' | 'fixed';
  /** auto: the lowest threshold accepted (quality_floor) */
  floor: number;
  /** fixed: tokens per row-forward of its own setting (default: tokensPerForward(0.9)) */
  tokensPerForward?: number;
}

export interface Rates {
  /** row-forwards this worker completes per second (measured) */
  rowForwardsPerSecond: number;
  /** tokens committed per row-forward at a threshold (measured, with a prior for levels not seen) */
  tokensPerForward: (threshold: number) => number;
}

export interface Decision {
  /** threshold for auto rows started now (each still raised to its own floor) */
  threshold: number;
  /** when the backlog is predicted to finish at that threshold (epoch ms) */
  predictedFinishAt: number;
  /** deadlines predicted to be missed even at the chosen threshold */
  predictedMisses: number;
  /** why: 'idle', 'meets', 'relax', 'hold', 'tighten', 'saturated' */
  reason: 'idle' | 'meets' | 'relax' | 'hold' | 'tighten' | 'saturated';
}

export interface ControllerOptions {
  /** relax to a gentler level only if every deadline keeps this share of its remaining time as slack */
  relaxMargin: number;
  /** hold or tighten: plan to finish with this share of each deadline's remaining time to spare (default 0) */
  planMargin?: number;
}

/** Predicted misses and finish time of the backlog if auto entries run at `level`. */
export function simulate(
  now: number,
  backlog: readonly BacklogEntry[],
  rates: Rates,
  level: number,
  slack = 0,
): { misses: number; finishAt: number } {
  const ordered = [...backlog].sort((a, b) => (a.deadline ?? Infinity) - (b.deadline ?? Infinity));
  let seconds = 0;
  let misses = 0;
  for (const e of ordered) {
    const tpf =
      e.budget === 'auto'
        ? rates.tokensPerForward(Math.max(level, e.floor))
        : (e.tokensPerForward ?? rates.tokensPerForward(LEVELS[0]));
    seconds += e.tokens / Math.max(1e-9, tpf) / Math.max(1e-9, rates.rowForwardsPerSecond);
    const finish = now + seconds * 1000;
    if (e.deadline !== null && finish > e.deadline - slack * Math.max(0, e.deadline - now))
      misses++;
  }
  return { misses, finishAt: now + seconds * 1000 };
}

export function decide(
  now: number,
  backlog: readonly BacklogEntry[],
  rates: Rates,
  current: number,
  opts: ControllerOptions,
): Decision {
  const auto = backlog.filter((e) => e.budget === 'auto' && e.tokens > 0);
  if (!auto.length)
    return { threshold: LEVELS[0], predictedFinishAt: now, predictedMisses: 0, reason: 'idle' };
  const planMargin = Math.min(opts.planMargin ?? 0, opts.relaxMargin);
  // gentlest level that meets every deadline with the planning margin; above the current level, with the larger relax margin
  for (const level of LEVELS) {
    const slack = level > current ? opts.relaxMargin : planMargin;
    const { misses, finishAt } = simulate(now, backlog, rates, level, slack);
    if (misses === 0) {
      const reason = level === current ? 'hold' : level > current ? 'relax' : 'tighten';
      return {
        threshold: level,
        predictedFinishAt: finishAt,
        predictedMisses: 0,
        reason: level === LEVELS[0] && current === LEVELS[0] ? 'meets' : reason,
      };
    }
  }
  // some deadline is lost at every level: the gentlest level with the fewest misses (no margin: what is still reachable)
  let best: { level: number; misses: number; finishAt: number } | null = null;
  for (const level of LEVELS) {
    const { misses, finishAt } = simulate(now, backlog, rates, level);
    if (best === null || misses < best.misses) best = { level, misses, finishAt };
  }
  return {
    threshold: best!.level,
    predictedFinishAt: best!.finishAt,
    predictedMisses: best!.misses,
    reason: 'saturated',
  };
}
