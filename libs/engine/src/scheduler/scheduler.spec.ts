import { parseGenerationParams, type GenerationParamsInput } from '../params';
import { GenerationError } from '../sampler/row';
import { FakeForward, fakeBundle, type FakePrediction } from '../testing/fake-forward';
import type { GenerationTask } from '../types';
import { Scheduler } from './scheduler';

const bundle = fakeBundle();
const tok = bundle.tokenizer;
const A = tok.encode('a')[0]!;
const B = tok.encode('b')[0]!;

// Token "a" everywhere; confidence rises with position so the order of commits is predictable.
const rising: FakePrediction = (_ids, p) => ({ ids: [A, B], probs: [0.3 + (p % 50) / 100, 0.1] });

function setup(predict: FakePrediction = rising, opts = { maxRows: 4, maxTokens: 4096 }) {
  const forward = new FakeForward(predict);
  const scheduler = new Scheduler(forward, bundle, opts);
  const gen = (task: GenerationTask, params: GenerationParamsInput, id = String(Math.random())) =>
    scheduler.submit(id, { task, params: parseGenerationParams(params) });
  return { forward, scheduler, gen };
}

describe('Scheduler', () => {
  it('fixed at one token per step takes gen_length forwards and fills the canvas', async () => {
    const { gen } = setup();
    const r = await gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 8 });
    expect(r.steps).toBe(8);
    expect(r.text).toBe('a'.repeat(8));
    expect(r.tokens).toBe(8);
    expect(r.finish_reason).toBe('length');
  });

  it('never commits an embedding row past the tokenizer (padded vocabularies of real checkpoints)', async () => {
    const padded = fakeBundle({ vocabSize: tok.vocabSize + 64 });
    const beyond = tok.vocabSize + 3;
    const scheduler = new Scheduler(
      new FakeForward((_ids, p) =>
        p % 3 === 0
          ? { ids: [beyond, tok.vocabSize + 9], probs: [0.6, 0.3] } // nothing decodable: ends there
          : { ids: [beyond, B], probs: [0.7, 0.2] },
      ),
      padded,
      { maxRows: 4, maxTokens: 4096 },
    );
    const r = await scheduler.submit('padded', {
      task: { prompt: 'x' },
      params: parseGenerationParams({ policy: 'fixed', gen_length: 8, stop_at_eos: false }),
    });
    expect(r.text).toMatch(/^b/);
    expect([...r.text].every((c) => c === 'b' || tok.decode([padded.eosId]).includes(c))).toBe(
      true,
    );
  });

  it('threshold commits every confident position at once', async () => {
    const { gen } = setup(() => ({ ids: [A], probs: [0.95] }));
    const r = await gen({ prompt: 'x' }, { policy: 'threshold', threshold: 0.9, gen_length: 16 });
    expect(r.steps).toBe(1);
  });

  it('max_steps caps forwards and commits the rest greedily on the last one', async () => {
    const { gen } = setup(() => ({ ids: [A], probs: [0.2] }));
    const r = await gen({ prompt: 'x' }, { policy: 'threshold', gen_length: 16, max_steps: 3 });
    expect(r.steps).toBe(3);
    expect(r.text).toBe('a'.repeat(16));
  });

  it('min_steps floors forwards even when the model is confident', async () => {
    const { gen } = setup(() => ({ ids: [A], probs: [0.99] }));
    const r = await gen({ prompt: 'x' }, { policy: 'threshold', gen_length: 16, min_steps: 4 });
    expect(r.steps).toBe(4);
  });

  it('block_length keeps commits inside the active block (semi-autoregressive)', async () => {
    // Confidence falls with position, so without blocks the left end would still go first; with the
    // reversed confidence the right end would go first: blocks must force left-to-right blocks.
    const seen: number[][] = [];
    const { gen } = setup((ids, p) => {
      if (p === 0) seen.push(ids.slice(1).map((t) => (t === bundle.maskId ? 0 : 1)));
      return { ids: [A], probs: [0.1 + p / 100] };
    });
    const prompt = 'x';
    expect(tok.encode(prompt)).toHaveLength(1);
    await gen({ prompt }, { policy: 'fixed', gen_length: 8, block_length: 4 });
    // after step 1: one token of block 1 committed and block 2 untouched
    expect(seen[1]!.slice(4)).toEqual([0, 0, 0, 0]);
    expect(seen[4]!.slice(0, 4)).toEqual([1, 1, 1, 1]);
  });

  it('ends a row at end-of-text: no forwards for what follows it', async () => {
    // EOS is confidently predicted at canvas position 3; everything after it needs no forward.
    const { gen } = setup((ids, p) =>
      p === 4 ? { ids: [bundle.eosId], probs: [0.99] } : { ids: [A], probs: [0.5] },
    );
    const r = await gen({ prompt: 'x' }, { policy: 'threshold', threshold: 0.9, gen_length: 32 });
    expect(r.finish_reason).toBe('stop');
    expect(r.text).toBe('aaa');
    expect(r.tokens).toBe(3);
    expect(r.steps).toBe(4); // EOS first, then the three positions before it one by one
  });

  it('never proposes end-of-text when infilling', async () => {
    const { gen } = setup((_ids, p) =>
      p === 3 ? { ids: [bundle.eosId, B], probs: [0.99, 0.01] } : { ids: [A], probs: [0.5] },
    );
    const r = await gen({ prefix: 'x', suffix: 'y' }, { policy: 'fixed', gen_length: 4 });
    expect(r.text).toBe('aaba');
    expect(r.finish_reason).toBe('length');
  });

  it('cuts the text at a stop string', async () => {
    const { gen } = setup();
    const r = await gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 6, stop: ['aaaa'] });
    expect(r.text).toBe('');
    expect(r.finish_reason).toBe('stop');
  });

  it('batches rows from many requests into each forward, within maxRows', async () => {
    const { gen, forward } = setup(rising, { maxRows: 3, maxTokens: 4096 });
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 4 + i }),
      ),
    );
    expect(Math.max(...forward.calls.map((c) => c.rows))).toBe(3);
    // continuous batching: 7 rows of 4..10 steps in far fewer forwards than run one after another
    expect(forward.calls.length).toBeLessThan(4 + 5 + 6 + 7 + 8 + 9 + 10);
  });

  it("gives a finished row's slot to a waiting row at the next step", async () => {
    const { gen, forward } = setup(rising, { maxRows: 2, maxTokens: 4096 });
    // same lengths; rows 1 and 3 need 2 forwards (max_steps), row 2 needs 6
    await Promise.all([
      gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 6, max_steps: 2 }),
      gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 6 }),
      gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 6, max_steps: 2 }),
    ]);
    // steps 1-2: rows 1+2; steps 3-4: rows 2+3 (row 3 joined as soon as row 1 left); steps 5-6: row 2
    expect(forward.calls.map((c) => c.rows)).toEqual([2, 2, 2, 2, 1, 1]);
  });

  it('gives the next free slot to a prioritised row, ahead of rows waiting longer', async () => {
    const { scheduler } = setup(rising, { maxRows: 2, maxTokens: 4096 });
    const order: string[] = [];
    const run = (id: string, prompt: string, priority = 0) =>
      scheduler
        .submit(
          id,
          { task: { prompt }, params: parseGenerationParams({ policy: 'fixed', gen_length: 4 }) },
          undefined,
          priority,
        )
        .then(() => order.push(id));
    const long = 'x '.repeat(30);
    // two bulk rows run, three wait; the short interactive row arrives last
    const bulk = ['b1', 'b2', 'b3', 'b4', 'b5'].map((id) => run(id, long));
    const interactive = run('i', 'x', 1);
    await Promise.all([...bulk, interactive]);
    // it takes the first slot that frees up: it ends with the second pair, not after every bulk row
    expect(order.indexOf('i')).toBeLessThanOrEqual(3);
    expect(order.slice(-1)).not.toEqual(['i']);
  });

  it('respects the token limit per forward', async () => {
    const { gen, forward } = setup(rising, { maxRows: 16, maxTokens: 40 });
    await Promise.all(
      Array.from({ length: 5 }, () => gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 9 })),
    );
    for (const c of forward.calls) expect(c.rows * c.length).toBeLessThanOrEqual(40);
  });

  it('groups rows of similar length to limit padding', async () => {
    const { gen, forward } = setup(rising, { maxRows: 2, maxTokens: 4096 });
    const long = 'x '.repeat(60);
    await Promise.all([
      gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 4 }),
      gen({ prompt: long }, { policy: 'fixed', gen_length: 4 }),
      gen({ prompt: 'x' }, { policy: 'fixed', gen_length: 4 }),
      gen({ prompt: long }, { policy: 'fixed', gen_length: 4 }),
    ]);
    const padded = forward.calls.reduce((s, c) => s + c.rows * c.length, 0);
    const real = forward.calls.reduce((s, c) => s + c.realTokens, 0);
    expect(padded / real).toBeLessThan(1.05); // short with short, long with long
  });

  it('cancels a request within one step; others are unaffected', async () => {
    const { scheduler, forward } = setup();
    const params = parseGenerationParams({ policy: 'fixed', gen_length: 50 });
    const a = scheduler.submit('a', { task: { prompt: 'x' }, params });
    const b = scheduler.submit('b', { task: { prompt: 'x' }, params });
    while (forward.calls.length < 3) await new Promise((r) => setImmediate(r));
    const callsAtCancel = forward.calls.length;
    scheduler.cancel('a');
    const ra = await a;
    expect(ra.finish_reason).toBe('cancelled');
    expect(ra.steps).toBeLessThanOrEqual(callsAtCancel + 1);
    expect((await b).steps).toBe(50);
  });

  it('rejects a row longer than the model with a clear error, without stopping others', async () => {
    const { gen } = setup();
    await expect(gen({ prompt: 'x '.repeat(300) }, { gen_length: 8 })).rejects.toThrow(
      GenerationError,
    );
    await expect(gen({ prompt: 'x '.repeat(300) }, { gen_length: 8 })).rejects.toThrow(
      /prompt is \d+ tokens; with gen_length 8 that is \d+ > the model's max length 256/,
    );
    await expect(gen({ prompt: 'x' }, { gen_length: 8 })).resolves.toMatchObject({ tokens: 8 });
  });

  it('reports the diffusing view every k steps', async () => {
    const forward = new FakeForward(rising);
    const scheduler = new Scheduler(forward, bundle, { maxRows: 4, maxTokens: 4096 });
    const states: string[] = [];
    await scheduler.submit(
      'v',
      {
        task: { prompt: 'x' },
        params: parseGenerationParams({ policy: 'fixed', gen_length: 4, intermediate_every: 2 }),
      },
      (s) => states.push(s.text),
    );
    expect(states).toEqual(['▒▒aa', 'aaaa']);
  });

  it('a failing forward fails its rows, and the scheduler keeps serving', async () => {
    let fail = true;
    const { gen } = setup((ids, p) => {
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
      return rising(ids, p);
    });
    await expect(gen({ prompt: 'x' }, { gen_length: 4 })).rejects.toThrow('boom');
    await expect(gen({ prompt: 'x' }, { gen_length: 4 })).resolves.toMatchObject({ tokens: 4 });
  });

  it('with shifted logits (Dream), reads the prediction for position p from output p-1', async () => {
    // the fake says "a" at even output positions and "b" at odd ones
    const forward = new FakeForward((_ids, p) => ({ ids: [p % 2 ? B : A], probs: [0.9] }));
    const plain = new Scheduler(forward, bundle, { maxRows: 4, maxTokens: 4096 });
    const shifted = new Scheduler(forward, fakeBundle({ shiftLogits: true }), {
      maxRows: 4,
      maxTokens: 4096,
    });
    const params = parseGenerationParams({ policy: 'fixed', gen_length: 4 });
    // prompt "x" is 1 token, so the canvas is positions 1..4
    expect((await plain.submit('p', { task: { prompt: 'x' }, params })).text).toBe('baba');
    expect((await shifted.submit('s', { task: { prompt: 'x' }, params })).text).toBe('abab');
  });
});
