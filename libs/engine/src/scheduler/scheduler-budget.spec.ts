import { parseGenerationParams, type GenerationParamsInput } from '../params';
import { FakeForward, fakeBundle, type FakePrediction } from '../testing/fake-forward';
import { Scheduler } from './scheduler';

const bundle = fakeBundle();
const A = bundle.tokenizer.encode('a')[0]!;
// confidence 0.55 everywhere: a threshold of 0.9 commits one position per step, 0.5 all at once
const flat: FakePrediction = () => ({ ids: [A], probs: [0.55] });

function setup() {
  const scheduler = new Scheduler(new FakeForward(flat), bundle, { maxRows: 1, maxTokens: 4096 });
  const gen = (params: GenerationParamsInput) =>
    scheduler.submit(String(Math.random()), {
      task: { prompt: 'x' },
      params: parseGenerationParams({ gen_length: 8, ...params }),
    });
  return { scheduler, gen };
}

describe('Scheduler: budget "auto" rows', () => {
  it('run at the controller threshold set when they start, and report it', async () => {
    const { scheduler, gen } = setup();
    scheduler.autoThreshold = 0.5;
    const r = await gen({ budget: 'auto' });
    expect(r).toMatchObject({
      steps: 1,
      budget: 'auto',
      applied_threshold: 0.5,
      applied_max_steps: 8,
    });
  });

  it('never go below their quality_floor nor above their own threshold', async () => {
    const { scheduler, gen } = setup();
    scheduler.autoThreshold = 0.2;
    expect(await gen({ budget: 'auto', quality_floor: 0.6 })).toMatchObject({
      steps: 8,
      applied_threshold: 0.6,
    });
    scheduler.autoThreshold = 0.9;
    expect(await gen({ budget: 'auto', threshold: 0.5 })).toMatchObject({
      steps: 1,
      applied_threshold: 0.5,
    });
  });

  it('leave fixed-budget rows alone', async () => {
    const { scheduler, gen } = setup();
    scheduler.autoThreshold = 0.2;
    expect(await gen({})).toMatchObject({ steps: 8, budget: 'fixed', applied_threshold: 0.9 });
  });

  it('keep the threshold they started with when the controller changes it mid-row', async () => {
    const { scheduler, gen } = setup();
    scheduler.autoThreshold = 0.9;
    const running = gen({ budget: 'auto' });
    const waiting = gen({ budget: 'auto' }); // one slot: starts after the first ends
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    scheduler.autoThreshold = 0.5;
    expect(await running).toMatchObject({ steps: 8, applied_threshold: 0.9 });
    expect(await waiting).toMatchObject({ steps: 1, applied_threshold: 0.5 });
  });
});
