import { LEVELS, type Rates } from './budget-controller';

/**
 * Tokens committed per row-forward at each threshold level, before this worker has measured any:
 * the bundled model's pooled infill figures (README quality table). Measurements replace them level
 * by level; unmeasured levels are scaled by what the measured ones show.
 */
const PRIOR_TOKENS_PER_FORWARD: Record<number, number> = {
  0.9: 1.2,
  0.8: 1.3,
  0.7: 1.4,
  0.6: 1.5,
  0.5: 1.6,
  0.4: 1.8,
  0.3: 2.1,
  0.2: 2.7,
};

const nearestLevel = (t: number): number =>
  LEVELS.reduce((best, l) => (Math.abs(l - t) < Math.abs(best - t) ? l : best), LEVELS[0]);

/** What this worker measures of itself, smoothed (EWMA), for the budget controller. */
export class RateTracker {
  private readonly perLevel = new Map<number, { tokens: number; forwards: number }>();
  private forwardRate: number | null = null;
  private last: { at: number; rowForwards: number } | null = null;

  /**
   * @param smoothing EWMA weight of the newest measurement
   * @param minWindowMs the shortest busy window a rate is measured over: decisions also run on every
   *   chunk claim, and a rate over a few hundred milliseconds swings with each forward's batch shape
   */
  constructor(
    private readonly smoothing = 0.2,
    private readonly minWindowMs = 1000,
  ) {}

  /** A finished row: its threshold, the tokens it committed and the forwards it took. */
  observeRow(threshold: number, tokens: number, forwards: number): void {
    if (forwards <= 0) return;
    const level = nearestLevel(threshold);
    const m = this.perLevel.get(level) ?? { tokens: 0, forwards: 0 };
    // decayed sums: recent rows weigh more, one odd row cannot swing the estimate
    m.tokens = m.tokens * (1 - this.smoothing) + tokens;
    m.forwards = m.forwards * (1 - this.smoothing) + forwards;
    this.perLevel.set(level, m);
  }

  /** Engine counters: row-forwards so far and whether rows were running in the interval. */
  observeEngine(at: number, rowForwards: number, busy: boolean): void {
    // idle time is not a slowdown, and a restarted engine counts from zero: start a new window
    if (!this.last || !busy || rowForwards < this.last.rowForwards) {
      this.last = { at, rowForwards };
      return;
    }
    if (at - this.last.at < this.minWindowMs) return; // too short to measure: keep accumulating
    const rate = ((rowForwards - this.last.rowForwards) * 1000) / (at - this.last.at);
    this.forwardRate =
      this.forwardRate === null
        ? rate
        : this.forwardRate * (1 - this.smoothing) + rate * this.smoothing;
    this.last = { at, rowForwards };
  }

  /** null until the engine has been seen busy once */
  rates(): Rates | null {
    if (this.forwardRate === null || this.forwardRate <= 0) return null;
    // measured / prior at the measured levels: how this model and load differ from the prior
    const measured = [...this.perLevel].filter(([, m]) => m.forwards > 0);
    const scale = measured.length
      ? measured.reduce(
          (a, [l, m]) => a + m.tokens / m.forwards / PRIOR_TOKENS_PER_FORWARD[l]!,
          0,
        ) / measured.length
      : 1;
    return {
      rowForwardsPerSecond: this.forwardRate,
      tokensPerForward: (t) => {
        const level = nearestLevel(t);
        const m = this.perLevel.get(level);
        return m && m.forwards > 0
          ? m.tokens / m.forwards
          : PRIOR_TOKENS_PER_FORWARD[level]! * scale;
      },
    };
  }
}
