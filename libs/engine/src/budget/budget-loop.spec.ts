import { parseGenerationParams } from '../params';
import { NO_WAITING_WORK } from './backlog';
import { BudgetLoop } from './budget-loop';

/** An engine doing 100 row-forwards a second, busy; the clock moves only when the test says. */
function setup() {
  let now = 1_000_000;
  const sent: Array<number | null> = [];
  const engine = {
    stats: () => Promise.resolve({ rowsInForwards: (now - 1_000_000) / 10, active: 4 }),
    setAutoThreshold: (t: number | null) => void sent.push(t),
  };
  const loop = new BudgetLoop({
    engine,
    waiting: () => Promise.resolve(NO_WAITING_WORK),
    model: 'm',
    log: { info: () => undefined },
    intervalMs: 1000,
    relaxMargin: 0.2,
    planMargin: 0.1,
    relaxHoldMs: 5000,
    now: () => now,
  });
  return { loop, sent, advance: (ms: number) => (now += ms), at: () => now };
}

describe('BudgetLoop', () => {
  it('tightens auto rows when the held work would miss its deadline, and relaxes once it has gone', async () => {
    const { loop, sent, advance, at } = setup();
    // 40 auto items of 32 tokens due in 5 s: at 0.9 (1.2 tokens/forward, the prior) they need ~10.7 s
    for (let i = 0; i < 40; i++)
      loop.hold(
        `b:${i}`,
        parseGenerationParams({
          gen_length: 32,
          budget: 'auto',
          deadline: new Date(at() + 5000).toISOString(),
        }),
        at(),
      );
    await loop.nudge();
    advance(1000);
    await loop.nudge();
    expect(loop.threshold).toBeLessThan(0.9);
    expect(sent).toEqual([loop.threshold]);
    for (let i = 0; i < 40; i++) loop.release(`b:${i}`);
    advance(1000);
    await loop.nudge();
    expect(loop.threshold).toBe(0.9);
    expect(sent).toHaveLength(2);
  });

  it('tightens at once but relaxes one level at a time, at most once per relaxHoldMs', async () => {
    const { loop, advance, at } = setup();
    const deadline = new Date(at() + 12_000).toISOString();
    // 60 items x 32 tokens due in 12 s: 16 s at 0.9; the loop measures 100 row-forwards/s after 1 s
    for (let i = 0; i < 60; i++)
      loop.hold(
        `b:${i}`,
        parseGenerationParams({ gen_length: 32, budget: 'auto', deadline }),
        at(),
      );
    await loop.nudge();
    advance(1000);
    await loop.nudge();
    const tight = loop.threshold;
    expect(tight).toBeLessThanOrEqual(0.4);
    // most of the work goes: 0.9 would do now, but the last change was just now
    for (let i = 10; i < 60; i++) loop.release(`b:${i}`);
    await loop.nudge();
    expect(loop.threshold).toBe(tight);
    advance(5000);
    await loop.nudge();
    const levels = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
    expect(loop.threshold).toBe(levels[levels.indexOf(tight) - 1]); // one gentler level, not straight to 0.9
    await loop.nudge();
    expect(loop.threshold).toBe(levels[levels.indexOf(tight) - 1]);
  });

  it('decides nothing before it has measured the engine', async () => {
    const { loop, sent, at } = setup();
    loop.hold(
      'b:0',
      parseGenerationParams({ budget: 'auto', deadline: new Date(at() + 10).toISOString() }),
      at(),
    );
    await loop.nudge();
    expect(sent).toEqual([]);
    expect(loop.threshold).toBe(0.9);
  });
});
