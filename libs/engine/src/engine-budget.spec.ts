import { Engine } from './engine';
import { parseGenerationParams } from './params';

describe('Engine: the auto threshold reaches the inference thread', () => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await Engine.start({ modelDir: 'models/dllm-code-small', maxBatchRows: 4 });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
  });

  it('budget "auto" rows started after setAutoThreshold run at it; fixed rows keep their own', async () => {
    const task = { prompt: 'def add(a, b):' };
    engine.setAutoThreshold(0.3);
    const [auto, fixed] = await Promise.all([
      engine.generate({
        task,
        params: parseGenerationParams({ gen_length: 16, budget: 'auto', seed: 1 }),
      }),
      engine.generate({ task, params: parseGenerationParams({ gen_length: 16, seed: 1 }) }),
    ]);
    expect(auto).toMatchObject({ budget: 'auto', applied_threshold: 0.3, applied_max_steps: 16 });
    expect(fixed).toMatchObject({ budget: 'fixed', applied_threshold: 0.9 });
    expect(auto.steps).toBeLessThanOrEqual(fixed.steps);
  });
});
