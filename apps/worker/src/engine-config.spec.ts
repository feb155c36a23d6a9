import { PROVIDERS, SCHEDULING_DEFAULTS } from '@dllm/engine';
import { configSchema, EXECUTION_PROVIDERS } from '@dllm/shared';

// libs/shared may not import the engine, so the config repeats a few of its facts; keep them equal.
describe('worker config agrees with the engine', () => {
  it('accepts exactly the providers the engine knows', () => {
    expect([...EXECUTION_PROVIDERS].sort()).toEqual([...PROVIDERS].sort());
  });

  it('documents the per-provider batch defaults the engine applies', () => {
    const rows = configSchema.shape.ENGINE_MAX_BATCH_ROWS.description ?? '';
    const tokens = configSchema.shape.ENGINE_MAX_BATCH_TOKENS.description ?? '';
    const { cpu, webgpu, cuda } = SCHEDULING_DEFAULTS;
    expect(webgpu).toEqual(cuda);
    expect(rows).toContain(
      `cpu ${cpu.maxBatchRows}; webgpu, cuda ${webgpu.maxBatchRows}, not yet measured`,
    );
    expect(tokens).toContain(`cpu ${cpu.maxBatchTokens}; webgpu, cuda ${webgpu.maxBatchTokens}`);
    expect(webgpu.measuredBy).toBeNull();
  });
});
