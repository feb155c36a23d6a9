import { Engine } from './engine';
import { parseGenerationParams } from './params';

// The engine's view of provider selection, on a machine without a GPU (see execution-providers.spec.ts).
const MODEL = 'models/dllm-code-small';
jest.setTimeout(60_000);

describe('Engine execution providers', () => {
  it('webgpu requested, none here: runs on cpu, says so in info, warnings and each result', async () => {
    const warnings: string[] = [];
    const engine = await Engine.start({
      modelDir: MODEL,
      executionProviders: ['webgpu', 'cpu'],
      onWarning: (m) => warnings.push(m),
    });
    try {
      expect(engine.info).toMatchObject({
        provider: 'cpu',
        requestedProviders: ['webgpu', 'cpu'],
        fellBack: true,
        placement: null,
        // no limits configured: the cpu defaults, because the cpu is what runs
        maxBatchRows: 16,
        maxBatchTokens: 4096,
      });
      expect(engine.info.providerFailures).toEqual([
        expect.stringMatching(
          /^webgpu: Failed to get a WebGPU adapter: No supported adapters; missing: /,
        ),
      ]);
      expect(warnings.join('\n')).toMatch(/RUNNING ON CPU/);
      const r = await engine.generate({
        task: { prompt: 'def f(x):' },
        params: parseGenerationParams({ gen_length: 4, seed: 1 }),
      });
      expect(r.provider).toBe('cpu');
    } finally {
      await engine.close();
    }
  });

  it('ENGINE_REQUIRE_GPU: start-up fails with what is missing', async () => {
    await expect(
      Engine.start({
        modelDir: MODEL,
        executionProviders: ['webgpu'],
        requireGpu: true,
        onWarning: () => undefined,
      }),
    ).rejects.toThrow(
      /no GPU execution provider works \(requested webgpu; ENGINE_REQUIRE_GPU is set, so no cpu fallback\):\nwebgpu: Failed to get a WebGPU adapter: No supported adapters; missing: .+/,
    );
  });

  it('configured batch limits win over the provider default', async () => {
    const engine = await Engine.start({
      modelDir: MODEL,
      executionProviders: ['cpu'],
      maxBatchRows: 3,
      maxBatchTokens: 999,
    });
    try {
      expect(engine.info).toMatchObject({
        provider: 'cpu',
        fellBack: false,
        providerFailures: [],
        maxBatchRows: 3,
        maxBatchTokens: 999,
        batchLimitsMeasuredBy: 'configuration',
      });
    } finally {
      await engine.close();
    }
  });
});
