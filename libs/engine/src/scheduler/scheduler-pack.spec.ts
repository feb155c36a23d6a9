import { parseGenerationParams } from '../params';
import { FakeCachedForward, fakeCachedBundle } from '../testing/fake-cached-forward';
import type { FakePrediction } from '../testing/fake-forward';
import { Scheduler, type SchedulerOptions } from './scheduler';

const bundle = fakeCachedBundle();
const tok = bundle.tokenizer;
const [A, B, C] = ['a', 'b', 'c'].map((s) => tok.encode(s)[0]!) as [number, number, number];

// confidence varies with position and context, so rows finish their blocks at different steps
const uneven: FakePrediction = (ids, p) => ({
  ids: ids[p - 1] === A ? [B, C] : [A, C],
  probs: [0.35 + ((p * 37 + ids[p - 1]!) % 60) / 100, 0.05],
});

const prompts = ['x', 'y', 'ab', 'abc abc', 'b', 'ca', 'cab', 'a b', 'c', 'ba', 'bca', 'a c'];
// sampled (temperature > 0): a row's tokens depend on its own seed and forwards, never on its neighbours
const params = parseGenerationParams({
  policy: 'threshold',
  threshold: 0.7,
  gen_length: 32,
  block_length: 8,
  cache: 'dual',
  temperature: 0.9,
  seed: 7,
  stop_at_eos: false,
});

async function run(opts: SchedulerOptions) {
  const forward = new FakeCachedForward(uneven);
  const scheduler = new Scheduler(forward, bundle, opts);
  let mostActive = 0;
  const sampler = setInterval(() => {
    mostActive = Math.max(mostActive, scheduler.load.active);
  }, 0);
  forward.delayMs = 1;
  const results = await Promise.all(
    prompts.map((prompt, i) =>
      scheduler.submit(`r${i}`, { task: { prompt }, params: { ...params, seed: 7 + i } }),
    ),
  );
  clearInterval(sampler);
  const s = scheduler.stats;
  return {
    results: results.map((r) => [r.text, r.steps, r.seed]),
    calls: forward.graphCalls,
    stats: s,
    stepFill: s.saturatedRowsByGraph.step / s.saturatedForwards.step,
    mostActive,
    copies: scheduler.stepCacheCopies,
  };
}

describe('Scheduler packing step calls to the row budget', () => {
  const base = { maxRows: 4, maxTokens: 4096, refreshHoldSteps: 3, refreshMinRows: 2 };

  it('gives every row exactly the output it gets unpacked (only timing changes)', async () => {
    const unpacked = await run(base);
    const packed = await run({ ...base, packStepCalls: true });
    expect(packed.results).toEqual(unpacked.results);
    // and the same as with no holding and no packing at all
    const eager = await run({ maxRows: 4, maxTokens: 4096 });
    expect(packed.results).toEqual(eager.results);
    // every row still refreshes once per block (12 rows x 4 blocks): nothing skipped or repeated
    expect(packed.stats.rowsByGraph.refresh).toBe(unpacked.stats.rowsByGraph.refresh);
  });

  it('keeps step calls fuller while rows wait, and no call ever carries more than maxRows', async () => {
    const unpacked = await run(base);
    const packed = await run({ ...base, packStepCalls: true });
    expect(unpacked.stats.saturatedForwards.step).toBeGreaterThan(0);
    expect(packed.stepFill).toBeGreaterThan(unpacked.stepFill);
    // rows between blocks lent their places: the active set passed the row budget, no call did
    expect(packed.mostActive).toBeGreaterThan(base.maxRows);
    expect(unpacked.mostActive).toBeLessThanOrEqual(base.maxRows);
    expect(Math.max(...packed.calls.map((c) => c.rows))).toBeLessThanOrEqual(base.maxRows);
    // fuller calls: fewer step calls for the same row-steps
    expect(packed.stats.rowsByGraph.step).toBe(unpacked.stats.rowsByGraph.step);
    expect(packed.stats.forwards.step).toBeLessThan(unpacked.stats.forwards.step);
  });

  it('rows run ahead fill the places of rows between blocks: fuller step calls, same outputs', async () => {
    const packed = await run({ ...base, packStepCalls: true });
    const ahead = await run({ ...base, packStepCalls: true, packAheadRows: 2 });
    expect(ahead.results).toEqual(packed.results);
    expect(ahead.stepFill).toBeGreaterThan(packed.stepFill);
    expect(Math.max(...ahead.calls.map((c) => c.rows))).toBeLessThanOrEqual(base.maxRows);
    // every row still refreshes once per block
    expect(ahead.stats.rowsByGraph.refresh).toBe(packed.stats.rowsByGraph.refresh);
  });

  it('a row that ran in the last step call keeps its place (and batch slot) while others sit out', async () => {
    const unpacked = await run(base);
    const ahead = await run({ ...base, packStepCalls: true, packAheadRows: 2 });
    // each refresh starts a new cache, copied once into a slot; incumbents are not displaced
    expect(ahead.copies).toBeGreaterThanOrEqual(ahead.stats.rowsByGraph.refresh);
    expect(ahead.copies).toBeLessThanOrEqual(unpacked.copies);
  });

  it('a call over the token budget is cut to it: the rest sit out a step, the longest-waiting first', async () => {
    // rows of 1 + 32 tokens; 100 tokens fit 3 of them in one call, the row budget says 4
    const opts = { maxRows: 4, maxTokens: 100, packStepCalls: true };
    const packed = await run(opts);
    const plain = await run({ maxRows: 4, maxTokens: 100 });
    expect(packed.results).toEqual(plain.results);
    expect(Math.max(...packed.calls.map((c) => c.rows))).toBeLessThanOrEqual(3);
  });
});
