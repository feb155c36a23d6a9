import { type BacklogEntry, decide, LEVELS, type Rates, simulate } from './budget-controller';

// 100 row-forwards/s; tokens per forward rise as the threshold falls (1.2 at 0.9 ... 3.0 at 0.2)
const rates: Rates = {
  rowForwardsPerSecond: 100,
  tokensPerForward: (t) => 1.2 + (0.9 - t) * (1.8 / 0.7),
};
const now = 1_000_000;
const opts = { relaxMargin: 0.2 };
const auto = (tokens: number, inSeconds: number | null, floor = 0.2): BacklogEntry => ({
  tokens,
  deadline: inSeconds === null ? null : now + inSeconds * 1000,
  budget: 'auto',
  floor,
});

describe('budget controller', () => {
  it('leaves rows at the gentlest level when there is nothing to hurry', () => {
    expect(decide(now, [], rates, 0.9, opts)).toMatchObject({ threshold: 0.9, reason: 'idle' });
    expect(decide(now, [auto(1200, 60)], rates, 0.9, opts)).toMatchObject({
      threshold: 0.9,
      predictedMisses: 0,
    });
  });

  it('tightens to the gentlest level that still meets every deadline', () => {
    // 6,000 tokens in 30 s: 0.9 needs 50 s (1.2 tok/fwd), 0.5 needs 6000/(2.23*100) = 27 s
    const d = decide(now, [auto(6000, 30)], rates, 0.9, opts);
    expect(d.reason).toBe('tighten');
    expect(d.threshold).toBe(0.5);
    expect(simulate(now, [auto(6000, 30)], rates, 0.6).misses).toBe(1); // the next gentler level would miss
    expect(d.predictedFinishAt).toBeLessThanOrEqual(now + 30_000);
  });

  it('says so when deadlines cannot be met, and does not trade quality for a deadline it loses anyway', () => {
    const d = decide(now, [auto(100_000, 10)], rates, 0.9, opts);
    expect(d).toMatchObject({ threshold: LEVELS[0], reason: 'saturated', predictedMisses: 1 });
  });

  it('orders by deadline: an urgent small item and a relaxed big one', () => {
    const backlog = [auto(50_000, 3600), auto(1200, 11)];
    // EDF: the small one first, 10 s at 0.9 meets 11 s; the big one then has an hour
    expect(decide(now, backlog, rates, 0.9, opts).threshold).toBe(0.9);
  });

  it('counts fixed-budget work in the time but never changes it', () => {
    const fixed: BacklogEntry = {
      tokens: 2400,
      deadline: null,
      budget: 'fixed',
      floor: 0.9,
      tokensPerForward: 1,
    };
    // the fixed rows take 24 s first only if their deadline is earlier; with none they run after
    expect(decide(now, [fixed, auto(1200, 11)], rates, 0.9, opts).threshold).toBe(0.9);
    const urgentFixed = { ...fixed, deadline: now + 25_000 };
    // fixed first (24 s), then 1,200 auto tokens must fit before 40 s: 16 s left needs ~0.75 tok/fwd... at 0.9: 10 s, fine
    expect(decide(now, [urgentFixed, auto(1200, 40)], rates, 0.9, opts).threshold).toBe(0.9);
    // with 30 s the auto item gets 6 s: it needs 2.0 tok/fwd -> 0.6 or lower
    expect(
      decide(now, [urgentFixed, auto(1200, 30)], rates, 0.9, opts).threshold,
    ).toBeLessThanOrEqual(0.6);
  });

  it('never predicts below an item floor', () => {
    const floored = auto(6000, 30, 0.7);
    // at its floor 0.7 it needs 6000/(1.71*100) = 35 s > 30 s: a miss at every level
    const d = decide(now, [floored], rates, 0.9, opts);
    expect(d.reason).toBe('saturated');
    expect(d.predictedMisses).toBe(1);
  });

  it('relaxes only with slack, so it does not flap around a deadline', () => {
    // 0.9 needs 50 s for a deadline of 52 s: met, but with less than 20% slack
    const backlog = [auto(6000, 52)];
    const fromTight = decide(now, backlog, rates, 0.5, opts);
    expect(fromTight.threshold).toBeLessThan(0.9);
    expect(fromTight.reason).toBe('relax');
    // already at 0.9, it holds there: no slack needed to stay
    expect(decide(now, backlog, rates, 0.9, opts)).toMatchObject({
      threshold: 0.9,
      reason: 'meets',
    });
  });

  it('plans with a safety margin: tightens a level further than the bare prediction needs', () => {
    // 6,000 tokens in 28 s: at 0.5 the bare prediction (27 s) meets it, with 10% held back (25.2 s) it does not
    expect(decide(now, [auto(6000, 28)], rates, 0.9, opts).threshold).toBe(0.5);
    expect(
      decide(now, [auto(6000, 28)], rates, 0.9, { ...opts, planMargin: 0.1 }).threshold,
    ).toBeLessThan(0.5);
  });

  it('does not drag every row down for one hopeless deadline: the gentlest level with the fewest misses', () => {
    // the first item cannot finish in 1 s at any level; the second meets its deadline at 0.9 either way
    const backlog = [auto(10_000, 1), auto(1200, 3600)];
    const d = decide(now, backlog, rates, 0.9, opts);
    expect(d).toMatchObject({ reason: 'saturated', predictedMisses: 1, threshold: 0.9 });
    // when tightening does save a deadline, it still goes as far as it must (EDF: the savable item runs first)
    const savable = [auto(6000, 30), auto(100_000, 40)];
    expect(decide(now, savable, rates, 0.9, opts)).toMatchObject({
      reason: 'saturated',
      predictedMisses: 1,
      threshold: 0.5,
    });
  });
});
