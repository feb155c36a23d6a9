import { RateTracker } from './rate-tracker';

describe('RateTracker', () => {
  it('knows no rate before the engine has been seen busy', () => {
    const t = new RateTracker();
    expect(t.rates()).toBeNull();
    t.observeEngine(0, 0, false);
    t.observeEngine(1000, 0, false);
    expect(t.rates()).toBeNull();
  });

  it('measures row-forwards per second over busy intervals only', () => {
    const t = new RateTracker(1); // no smoothing: the last interval
    t.observeEngine(0, 0, true);
    t.observeEngine(2000, 200, true);
    expect(t.rates()!.rowForwardsPerSecond).toBe(100);
    t.observeEngine(12_000, 200, false); // idle 10 s: not a slowdown
    expect(t.rates()!.rowForwardsPerSecond).toBe(100);
  });

  it('uses measured tokens per forward where it has them, the scaled prior elsewhere', () => {
    const t = new RateTracker();
    t.observeEngine(0, 0, true);
    t.observeEngine(1000, 50, true);
    t.observeRow(0.9, 64, 32); // 2.0 here vs a prior of 1.2
    const r = t.rates()!;
    expect(r.tokensPerForward(0.9)).toBeCloseTo(2.0);
    expect(r.tokensPerForward(0.88)).toBeCloseTo(2.0); // nearest level
    // 0.5 unmeasured: its prior 1.6 scaled by 2.0 / 1.2
    expect(r.tokensPerForward(0.5)).toBeCloseTo(1.6 * (2.0 / 1.2));
  });

  it('measures over windows of at least minWindowMs, so frequent decisions do not sample noise', () => {
    const t = new RateTracker(1, 1000);
    t.observeEngine(0, 0, true);
    t.observeEngine(200, 90, true); // a burst: 450/s over 200 ms, too short to count
    expect(t.rates()).toBeNull();
    t.observeEngine(1000, 100, true);
    expect(t.rates()!.rowForwardsPerSecond).toBe(100);
  });
});
