import { parseGenerationParams } from '../params';
import { Backlog, estimateBacklog, heldItem, NO_WAITING_WORK } from './backlog';
import type { Rates } from './budget-controller';

const T0 = Date.parse('2026-05-01T12:00:00Z');
const rates: Rates = { rowForwardsPerSecond: 100, tokensPerForward: (t) => (t >= 0.9 ? 1 : 2) };

describe('backlog estimate', () => {
  it('weighs an item by its canvas, its deadline (a duration counts from submission) and its floor', () => {
    const h = heldItem(
      parseGenerationParams({
        gen_length: 32,
        budget: 'auto',
        deadline: '90s',
        quality_floor: 0.5,
      }),
      T0,
    );
    expect(h).toMatchObject({
      tokens: 32,
      deadline: T0 + 90_000,
      budget: 'auto',
      floor: 0.5,
      threshold: 0.9,
    });
    expect(heldItem(parseGenerationParams({ deadline: '2026-05-01T12:10:00Z' }), T0).deadline).toBe(
      T0 + 600_000,
    );
    // a retried batch copies its source's absolute deadlines: one from before the batch is void
    expect(
      heldItem(parseGenerationParams({ deadline: '2026-05-01T11:00:00Z' }), T0).deadline,
    ).toBeNull();
    expect(heldItem(parseGenerationParams({ budget: 'auto' }), T0)).toMatchObject({
      deadline: null,
      floor: 0.2,
    });
  });

  it('prices fixed rows at their own setting: threshold rows at their level, the fixed policy at its schedule', () => {
    const gentle = heldItem(parseGenerationParams({ threshold: 0.9 }), T0);
    const eager = heldItem(parseGenerationParams({ threshold: 0.5 }), T0);
    const scheduled = heldItem(
      parseGenerationParams({ policy: 'fixed', gen_length: 64, max_steps: 16 }),
      T0,
    );
    expect([gentle, eager, scheduled].map((h) => h.tokensPerForward(rates))).toEqual([1, 2, 4]);
  });

  it('lists held items one entry each, and unseen queued chunks as deadline-free fixed work of their mean length', () => {
    const auto = heldItem(
      parseGenerationParams({ gen_length: 16, budget: 'auto', deadline: '1m' }),
      T0,
    );
    const fixed = heldItem(parseGenerationParams({ gen_length: 48, threshold: 0.5 }), T0);
    const entries = estimateBacklog([auto, fixed], rates, {
      chunks: [],
      unseenChunks: 3,
      itemsPerChunk: 10,
    });
    expect(entries).toEqual([
      { tokens: 16, deadline: T0 + 60_000, budget: 'auto', floor: 0.2 },
      { tokens: 48, deadline: null, budget: 'fixed', floor: 0.2, tokensPerForward: 2 },
      { tokens: 30 * 32, deadline: null, budget: 'fixed', floor: 0.2 },
    ]);
    expect(estimateBacklog([], rates, NO_WAITING_WORK)).toEqual([]);
  });

  it('weighs a seen waiting chunk by its batch defaults: its items, their length and deadline', () => {
    const queued = heldItem(
      parseGenerationParams({ gen_length: 32, budget: 'auto', deadline: '2m' }),
      T0,
    );
    const entries = estimateBacklog([], rates, {
      chunks: [
        { items: 8, item: queued },
        { items: 5, item: null },
      ],
      unseenChunks: 0,
      itemsPerChunk: 8,
    });
    expect(entries).toEqual([
      { tokens: 8 * 32, deadline: T0 + 120_000, budget: 'auto', floor: 0.2 },
      { tokens: 5 * 64, deadline: null, budget: 'fixed', floor: 0.2 },
    ]);
  });

  it('forgets an item once released', () => {
    const b = new Backlog();
    b.hold('x:0', heldItem(parseGenerationParams({}), T0));
    b.hold('x:1', heldItem(parseGenerationParams({}), T0));
    b.release('x:0');
    expect(b.size).toBe(1);
    expect(b.entries(rates, NO_WAITING_WORK)).toHaveLength(1);
  });
});
