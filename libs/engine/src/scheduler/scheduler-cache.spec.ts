import { parseGenerationParams, type GenerationParamsInput } from '../params';
import { GenerationError } from '../sampler/row';
import { FakeCachedForward, fakeCachedBundle } from '../testing/fake-cached-forward';
import { fakeBundle, type FakePrediction } from '../testing/fake-forward';
import type { GenerationTask } from '../types';
import { waitFor } from '../../../../test/support/wait-for';
import { Scheduler, type SchedulerOptions } from './scheduler';

const bundle = fakeCachedBundle();
const tok = bundle.tokenizer;
const [A, B, C] = ['a', 'b', 'c'].map((s) => tok.encode(s)[0]!) as [number, number, number];

// Context-dependent: the token proposed at p is "b" when the position before it holds "a", else "a";
// confidence rises with position, so the commit order is predictable.
const contextual: FakePrediction = (ids, p) => ({
  ids: ids[p - 1] === A ? [B, C] : [A, C],
  probs: [0.3 + (p % 50) / 100, 0.1],
});

function setup(
  predict: FakePrediction = contextual,
  opts: SchedulerOptions = { maxRows: 4, maxTokens: 4096 },
) {
  const forward = new FakeCachedForward(predict);
  const scheduler = new Scheduler(forward, bundle, opts);
  const gen = (task: GenerationTask, params: GenerationParamsInput, id = String(Math.random())) =>
    scheduler.submit(id, {
      task,
      params: parseGenerationParams({ stop_at_eos: false, ...params }),
    });
  const count = (graph: string) => forward.graphCalls.filter((c) => c.graph === graph).length;
  return { forward, scheduler, gen, count };
}

describe('Scheduler with cached block decoding', () => {
  it('refreshes at each block start, steps inside the block, and runs the last allowed forward in full', async () => {
    const { gen, count } = setup();
    const r = await gen(
      { prompt: 'x' },
      { policy: 'fixed', gen_length: 16, block_length: 8, cache: 'dual' },
    );
    expect(r.steps).toBe(16);
    // block 1: refresh + 7 steps; block 2: refresh + 6 steps; the 16th forward commits what is left
    expect([count('refresh'), count('step'), count('full')]).toEqual([2, 13, 1]);
  });

  it('uses the cache by default when the model has the graphs, with blocks of 32', async () => {
    const { gen, count } = setup();
    await gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 64 });
    expect(count('refresh')).toBe(2);
    expect(count('full')).toBe(1);
  });

  it.each(['dual', 'prefix'] as const)(
    '%s with a refresh at every step gives exactly the outputs of full recompute',
    async (cache) => {
      const tasks: GenerationTask[] = [
        { prompt: 'x' },
        { prefix: 'ab', suffix: 'c' },
        { prompt: 'abc abc' },
      ];
      const base = {
        policy: 'threshold',
        threshold: 0.6,
        gen_length: 24,
        block_length: 8,
      } as const;
      const full = setup();
      const want = await Promise.all(tasks.map((t) => full.gen(t, { ...base, cache: 'none' })));
      const cached = setup();
      const got = await Promise.all(
        tasks.map((t) => cached.gen(t, { ...base, cache, cache_refresh_every: 1 })),
      );
      expect(got.map((r) => [r.text, r.steps])).toEqual(want.map((r) => [r.text, r.steps]));
      expect(cached.count('step')).toBe(0);
      expect(cached.count('refresh')).toBeGreaterThan(0);
    },
  );

  it('a step sees the commits in its own block since the refresh', async () => {
    // confidence falls with position (left to right); the proposal at p depends on p-1
    const leftToRight: FakePrediction = (ids, p) => ({
      ids: ids[p - 1] === A ? [B, C] : [A, C],
      probs: [0.9 - p / 100, 0.05],
    });
    const params = { policy: 'fixed', gen_length: 8, block_length: 4 } as const;
    const dual = await setup(leftToRight).gen({ prompt: 'x' }, { ...params, cache: 'dual' });
    // inside each block the step sees its fresh commits, so it alternates as full recompute does
    expect(dual.text).toBe('abababab');
    // the dual cache of block 2 was taken when block 1 was done: the same as recomputing
    expect(dual.text).toBe(
      (await setup(leftToRight).gen({ prompt: 'x' }, { ...params, cache: 'none' })).text,
    );
  });

  it('mixes rows at different phases in one step: one call per graph', async () => {
    const { forward, gen, scheduler } = setup();
    forward.delayMs = 2;
    const first = gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 16, block_length: 8 });
    await new Promise((r) => setTimeout(r, 5));
    const second = gen({ prompt: 'y' }, { policy: 'fixed', gen_length: 16, block_length: 8 });
    await Promise.all([first, second]);
    // some step held a refresh (the newcomer) and a cached step (the row already in its block)
    expect(forward.graphCalls.length).toBeGreaterThan(scheduler.stats.steps);
    expect(
      scheduler.stats.forwards.refresh +
        scheduler.stats.forwards.step +
        scheduler.stats.forwards.full,
    ).toBe(forward.graphCalls.length);
    // the call mix: rows carried per graph, as the calls themselves saw them
    for (const graph of ['full', 'refresh', 'step'] as const)
      expect(scheduler.stats.rowsByGraph[graph]).toBe(
        forward.graphCalls.filter((c) => c.graph === graph).reduce((a, c) => a + c.rows, 0),
      );
  });

  it('phase-aware refreshes: rows wait to share a refresh call, and every output stays the same', async () => {
    // confidence varies with position and context, so rows finish their blocks at different steps
    const uneven: FakePrediction = (ids, p) => ({
      ids: ids[p - 1] === A ? [B, C] : [A, C],
      probs: [0.35 + ((p * 37 + ids[p - 1]!) % 60) / 100, 0.05],
    });
    const tasks: GenerationTask[] = ['x', 'y', 'ab', 'abc abc', 'b', 'ca', 'cab', 'a b'].map(
      (prompt) => ({ prompt }),
    );
    const params = {
      policy: 'threshold',
      threshold: 0.7,
      gen_length: 32,
      block_length: 8,
      cache: 'dual',
      temperature: 0.9,
      seed: 7,
    } as const;
    const run = async (opts: SchedulerOptions) => {
      const s = setup(uneven, opts);
      const results = await Promise.all(tasks.map((t, i) => s.gen(t, params, `r${i}`)));
      return { s, results };
    };
    const eager = await run({ maxRows: 8, maxTokens: 4096 });
    const held = await run({ maxRows: 8, maxTokens: 4096, refreshHoldSteps: 3, refreshMinRows: 4 });
    expect(held.results.map((r) => [r.text, r.steps, r.seed])).toEqual(
      eager.results.map((r) => [r.text, r.steps, r.seed]),
    );
    const mix = (s: Scheduler) => s.stats.rowsByGraph.refresh / s.stats.forwards.refresh;
    expect(held.s.scheduler.stats.heldRows).toBeGreaterThan(0);
    expect(held.s.count('refresh')).toBeLessThan(eager.s.count('refresh'));
    expect(mix(held.s.scheduler)).toBeGreaterThan(mix(eager.s.scheduler));
    // every row still refreshes once per block: 8 rows x 4 blocks
    expect(held.s.scheduler.stats.rowsByGraph.refresh).toBe(
      eager.s.scheduler.stats.rowsByGraph.refresh,
    );
  });

  it('a refresh waits only while other rows step: alone, or with an interactive row, it goes at once', async () => {
    const opts = { maxRows: 8, maxTokens: 4096, refreshHoldSteps: 5, refreshMinRows: 4 };
    const params = { policy: 'fixed', gen_length: 16, block_length: 8, cache: 'dual' } as const;
    // one row: nothing else runs, so no step is ever sat out
    const alone = setup(contextual, opts);
    const r = await alone.gen({ prompt: 'x' }, params);
    expect(alone.scheduler.stats.heldRows).toBe(0);
    expect(r.steps).toBe(16);
    // an interactive row (priority > 0) joining mid-block is refreshed at the next step
    const busy = setup(contextual, opts);
    busy.forward.delayMs = 2;
    const bulk = busy.gen({ prompt: 'y' }, { ...params, gen_length: 64 });
    await waitFor('3 steps', () => busy.scheduler.stats.steps >= 3, 10_000, 1);
    const stepsBefore = busy.scheduler.stats.steps;
    const urgent = busy.scheduler.submit(
      'urgent',
      { task: { prompt: 'z' }, params: parseGenerationParams({ stop_at_eos: false, ...params }) },
      undefined,
      1,
    );
    const stepsAtUrgentEnd = await urgent.then(() => busy.scheduler.stats.steps);
    await bulk;
    // never held: 16 forwards, one per step, starting at the step after it arrived
    expect(stepsAtUrgentEnd - stepsBefore).toBeLessThanOrEqual(17);
  });

  it('holds cache memory while rows run and frees it when they finish or are cancelled', async () => {
    const slow = setup();
    slow.forward.delayMs = 2;
    const done = slow.gen(
      { prompt: 'x' },
      { policy: 'fixed', gen_length: 32, block_length: 8 },
      'keep',
    );
    const cancelled = slow.gen(
      { prompt: 'y' },
      { policy: 'fixed', gen_length: 64, block_length: 8 },
      'drop',
    );

    await waitFor('4 steps', () => slow.scheduler.stats.steps >= 4, 10_000, 1);
    const held = slow.scheduler.stats.cacheBytes;
    slow.scheduler.cancel('drop');
    expect((await cancelled).finish_reason).toBe('cancelled');
    await done;
    await slow.scheduler.idle();
    expect(held).toBeGreaterThan(0);
    expect(slow.scheduler.stats.cacheBytes).toBe(0);
  });

  it('refuses a cache the model cannot run, and rows beyond max_length, with clear errors', async () => {
    const plain = new Scheduler(new FakeCachedForward(contextual), fakeBundle(), {
      maxRows: 4,
      maxTokens: 4096,
    });
    await expect(
      plain.submit('p', {
        task: { prompt: 'x' },
        params: parseGenerationParams({ cache: 'dual' }),
      }),
    ).rejects.toThrow(
      new GenerationError(
        'cache "dual" needs a model with cache graphs; fake has none (use cache "none")',
      ),
    );
    const { gen } = setup();
    await expect(gen({ prompt: 'x' }, { gen_length: 300, cache: 'dual' })).rejects.toThrow(
      /with gen_length 300 that is 301 > the model's max length 256/,
    );
  });
});
