import type { ModelBundle } from '../bundle/model-bundle';
import { parseGenerationParams, type GenerationParamsInput } from '../params';
import { exactPlan } from '../sampler/exact-plan';
import {
  FakeDecoderForward,
  fakeDecoderBundle,
  type FakeDecoderOptions,
} from '../testing/fake-decoder-forward';
import type { GenerationResult, GenerationTask } from '../types';
import { Scheduler } from './scheduler';

const blockCausal = (blockSize: number, shift: boolean) =>
  fakeDecoderBundle({
    attention: { type: 'block-causal', blockSize },
    shiftLogits: shift,
  });
const autoregressive = () =>
  fakeDecoderBundle({
    kind: 'autoregressive',
    attention: { type: 'causal', blockSize: 1 },
    shiftLogits: true,
  });
const dream = () => fakeDecoderBundle({ shiftLogits: true });

// the fake model hashes every visible position in plain JS: seconds on a loaded shared machine
jest.setTimeout(30_000);

const PROMPTS = ['def f(x):', 'x = 1', 'import os\nimport sys\n\nclass A:', 'y'];

function setup(bundle: ModelBundle, opts: FakeDecoderOptions = {}) {
  const forward = new FakeDecoderForward(bundle.attention, opts);
  const scheduler = new Scheduler(forward, bundle, { maxRows: 8, maxTokens: 4096 });
  const gen = (task: GenerationTask, params: GenerationParamsInput) =>
    scheduler.submit(String(Math.random()), { task, params: parseGenerationParams(params) });
  /** every prompt at once (continuous batching), results in prompt order */
  const all = (params: GenerationParamsInput): Promise<GenerationResult[]> =>
    Promise.all(PROMPTS.map((prompt) => gen({ prompt }, params)));
  return { forward, scheduler, gen, all };
}

const essentials = (rs: GenerationResult[]) =>
  rs.map((r) => ({ text: r.text, tokens: r.tokens, finish: r.finish_reason }));

describe('exactPlan (causal / block-causal spans)', () => {
  it('aligns blocks to absolute positions, recomputes the partial first block, fuses completion', () => {
    const base = { blockSize: 4, shift: true, causal: false };
    // prompt of 10 tokens: canvas block [10, 12) shares graph block [8, 12) with the prompt
    expect(exactPlan({ ...base, blockStart: 10, blockEnd: 12, cached: 0 })).toEqual({
      graph: 'prefill',
      from: 0,
      to: 12,
      past: 0,
      headFrom: 9,
      headTo: 11,
      appendFrom: 0,
      appendTo: 8,
    });
    // later step of that block: prompt positions 8, 9 stay in the span (they see the block's masks)
    expect(exactPlan({ ...base, blockStart: 11, blockEnd: 12, cached: 8 })).toMatchObject({
      from: 8,
      to: 12,
      past: 8,
      appendTo: 8,
    });
    // the block completed: the next block's first forward appends it
    expect(exactPlan({ ...base, blockStart: 12, blockEnd: 16, cached: 8 })).toMatchObject({
      graph: 'extend',
      from: 8,
      to: 16,
      past: 8,
      headFrom: 11,
      appendFrom: 8,
      appendTo: 12,
    });
    // inside it: one slot left of the block (shifted logits), its cached entry out of the past
    expect(exactPlan({ ...base, blockStart: 12, blockEnd: 16, cached: 12 })).toMatchObject({
      from: 11,
      to: 16,
      past: 11,
      headFrom: 11,
      appendFrom: 12,
      appendTo: 12,
    });
    // not shifted: the span starts at the block
    expect(
      exactPlan({ ...base, shift: false, blockStart: 12, blockEnd: 16, cached: 12 }),
    ).toMatchObject({ from: 12, past: 12, headFrom: 12, headTo: 16 });
  });

  it('decodes AR as prefill over the prompt, then the newest token against everything before it', () => {
    const ar = { blockSize: 1, shift: true, causal: true };
    expect(exactPlan({ ...ar, blockStart: 5, blockEnd: 6, cached: 0 })).toEqual({
      graph: 'prefill',
      from: 0,
      to: 5,
      past: 0,
      headFrom: 4,
      headTo: 5,
      appendFrom: 0,
      appendTo: 5,
    });
    expect(exactPlan({ ...ar, blockStart: 6, blockEnd: 7, cached: 5 })).toEqual({
      graph: 'extend',
      from: 5,
      to: 6,
      past: 5,
      headFrom: 5,
      headTo: 6,
      appendFrom: 5,
      appendTo: 6,
    });
  });
});

describe('Scheduler, block-causal models (exact prefix cache)', () => {
  it.each([
    [4, true],
    [4, false],
    [32, true],
  ])(
    'block %i, shifted %s: cached decoding commits exactly what full recompute commits',
    async (bs, shift) => {
      for (const params of [
        { policy: 'threshold', threshold: 0.7, gen_length: 24 },
        { policy: 'fixed', tokens_per_step: 2, gen_length: 24 },
        { policy: 'entropy', entropy_budget: 0.8, gen_length: 19 },
      ] as const) {
        const cached = setup(blockCausal(bs, shift));
        const uncached = setup(blockCausal(bs, shift));
        const a = await cached.all({ ...params, cache: 'auto', stop_at_eos: false });
        const b = await uncached.all({ ...params, cache: 'none', stop_at_eos: false });
        expect(essentials(a)).toEqual(essentials(b));
        expect(a.map((r) => r.steps)).toEqual(b.map((r) => r.steps));
        const f = cached.scheduler.stats.forwards;
        expect(f.prefill).toBeGreaterThan(0);
        // (a row whose prompt and canvas fit in one graph block caches nothing: all its forwards are prefills)
        if (bs === 4) expect(f.extend).toBeGreaterThan(0);
        expect(f.full + f.refresh + f.step).toBe(0);
        // uncached: every forward is the whole sequence
        expect(uncached.scheduler.stats.forwards.full).toBeGreaterThan(0);
        // cached spans are shorter than the sequences they replace
        const spans = cached.forward.calls.filter((c) => c.past > 0).map((c) => c.span);
        expect(Math.max(...spans)).toBeLessThanOrEqual(2 * bs);
      }
    },
  );

  it('a broken cache would show: dropping the completed block from the past changes the text', async () => {
    // guards the test above against a fake that cannot tell: the same run, with past masks cleared
    const bundle = blockCausal(4, true);
    const honest = setup(bundle);
    const broken = setup(bundle);
    const decode = broken.forward.decode.bind(broken.forward);
    broken.forward.decode = (b) => decode({ ...b, pastMask: new BigInt64Array(b.pastMask.length) });
    const params = {
      policy: 'threshold',
      threshold: 0.7,
      gen_length: 24,
      stop_at_eos: false,
    } as const;
    expect(essentials(await broken.all(params))).not.toEqual(essentials(await honest.all(params)));
  });

  it('refuses dual caches, foreign block lengths and infilling, naming the field', async () => {
    const { gen } = setup(blockCausal(4, true));
    await expect(gen({ prompt: 'x' }, { cache: 'dual' })).rejects.toThrow(
      'a block-causal model has an exact prefix cache',
    );
    await expect(gen({ prompt: 'x' }, { block_length: 8 })).rejects.toThrow(
      'block_length: this model decodes in its own blocks of 4 tokens',
    );
    await expect(gen({ prefix: 'a', suffix: 'b' }, {})).rejects.toThrow(
      'a block-causal model cannot infill',
    );
    await expect(gen({ prompt: 'x' }, { block_length: 3, gen_length: 3 })).rejects.toThrow(
      'gen_length: this model decodes in its own blocks of 4 tokens; gen_length must be at least 4 (got 3)',
    );
    const partial = await gen(
      { prompt: 'x' },
      { block_length: 4, gen_length: 6, stop_at_eos: false },
    );
    expect(partial.tokens).toBe(6);
    const ok = await gen({ prompt: 'x' }, { block_length: 4, gen_length: 8, stop_at_eos: false });
    expect(ok.tokens).toBe(8);
  });
});

describe('Scheduler, autoregressive models (exact KV cache)', () => {
  it.each([
    ['greedy', { temperature: 0 }],
    ['sampled', { temperature: 0.8, top_k: 3, top_p: 0.9, seed: 7 }],
  ] as const)(
    '%s: decoding with the KV cache equals recomputing every step',
    async (_, sampling) => {
      const kv = setup(autoregressive());
      const recompute = setup(autoregressive());
      const params = { gen_length: 20, stop_at_eos: false, ...sampling };
      const a = await kv.all({ ...params, cache: 'auto' });
      const b = await recompute.all({ ...params, cache: 'none' });
      expect(essentials(a)).toEqual(essentials(b));
      // one forward per token, whichever way
      expect(a.map((r) => r.steps)).toEqual(PROMPTS.map(() => 20));
      expect(b.map((r) => r.steps)).toEqual(PROMPTS.map(() => 20));
      const f = kv.scheduler.stats.forwards;
      expect(f.prefill).toBeGreaterThan(0);
      expect(f.full + f.refresh + f.step).toBe(0);
      // after the prefill every span is the one newest token; rows share forwards
      const steps = kv.forward.calls.filter((c) => c.past > 0);
      expect(steps.every((c) => c.span === 1)).toBe(true);
      expect(Math.max(...steps.map((c) => c.rows))).toBe(PROMPTS.length);
    },
  );

  it('ignores diffusion-only parameters: policy, threshold and tokens per step change nothing', async () => {
    const plain = await setup(autoregressive()).all({ gen_length: 12, stop_at_eos: false });
    const odd = await setup(autoregressive()).all({
      gen_length: 12,
      stop_at_eos: false,
      policy: 'fixed',
      tokens_per_step: 4,
      min_steps: 3,
      threshold: 0.2,
    });
    expect(essentials(odd)).toEqual(essentials(plain));
  });

  it('ends a row at any id of eos_token_ids; steps count forwards', async () => {
    const bundle = autoregressive();
    const withEos = { ...bundle, eosIds: [bundle.eosId, 9] };
    const { all } = setup(withEos, { eosEvery: 5 });
    const rs = await all({ gen_length: 40 });
    expect(rs.some((r) => r.finish_reason === 'stop')).toBe(true);
    for (const r of rs) if (r.finish_reason === 'stop') expect(r.steps).toBe(r.tokens + 1);
    // a second end id (end-of-turn) ends rows too
    const eot = setup({ ...bundle, eosIds: [bundle.eosId, 9] }, { eosEvery: 5, eosId: 9 });
    expect((await eot.all({ gen_length: 40 })).some((r) => r.finish_reason === 'stop')).toBe(true);
  });

  it('refuses infilling, a dual cache and max_steps below gen_length', async () => {
    const { gen } = setup(autoregressive());
    await expect(gen({ prefix: 'a', suffix: 'b' }, {})).rejects.toThrow(
      'an autoregressive model only continues a prompt',
    );
    await expect(gen({ prompt: 'x' }, { cache: 'dual' })).rejects.toThrow('cache: "dual"');
    await expect(gen({ prompt: 'x' }, { gen_length: 8, max_steps: 4 })).rejects.toThrow(
      'max_steps: an autoregressive model takes one forward per token',
    );
  });
});

describe('Scheduler, bidirectional decoder bundles (LLaDA, Dream) on the one decoder graph', () => {
  it.each(['dual', 'prefix'] as const)(
    'shifted logits, %s cache refreshed every step == full recompute',
    async (cache) => {
      const params = {
        policy: 'threshold',
        threshold: 0.7,
        gen_length: 24,
        block_length: 8,
      } as const;
      const a = await setup(dream()).all({ ...params, cache, cache_refresh_every: 1 });
      const b = await setup(dream()).all({ ...params, cache: 'none' });
      expect(essentials(a)).toEqual(essentials(b));
    },
  );

  it('shifted logits under the cache read the slot before the block (one span slot more)', async () => {
    const { all, forward, scheduler } = setup(dream());
    await all({
      policy: 'fixed',
      gen_length: 16,
      block_length: 8,
      cache: 'dual',
      stop_at_eos: false,
    });
    expect(scheduler.stats.forwards.step).toBeGreaterThan(0);
    // dual steps: the block (8) plus the slot before it
    const steps = forward.calls.filter((c) => c.past > 0);
    expect(new Set(steps.map((c) => c.span))).toEqual(new Set([9]));
  });
});
