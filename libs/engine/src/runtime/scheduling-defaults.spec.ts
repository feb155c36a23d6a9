import { batchLimitsFor, SCHEDULING_DEFAULTS } from './scheduling-defaults';

describe('batch limits per provider', () => {
  it('unset limits take the provider default; GPU defaults are marked as not measured', () => {
    expect(batchLimitsFor('cpu', {})).toMatchObject({ maxBatchRows: 16, maxBatchTokens: 4096 });
    expect(batchLimitsFor('cpu', {}).measuredBy).toMatch(/bench\/results/);
    for (const gpu of ['webgpu', 'cuda'] as const) {
      expect(batchLimitsFor(gpu, {})).toMatchObject({
        maxBatchRows: 64,
        maxBatchTokens: 16384,
        measuredBy: null,
      });
    }
  });

  it('configured limits win, each on its own', () => {
    expect(batchLimitsFor('webgpu', { maxBatchRows: 8 })).toMatchObject({
      maxBatchRows: 8,
      maxBatchTokens: SCHEDULING_DEFAULTS.webgpu.maxBatchTokens,
      measuredBy: null,
      fromConfig: { maxBatchRows: true, maxBatchTokens: false },
    });
    expect(batchLimitsFor('cuda', { maxBatchRows: 8, maxBatchTokens: 2048 })).toMatchObject({
      maxBatchRows: 8,
      maxBatchTokens: 2048,
      measuredBy: 'configuration',
    });
  });
});
