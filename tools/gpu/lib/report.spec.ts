import { buildReport, SPEEDUP_TARGET } from './report';

const e2e = (provider: string, rates: [number, number][]) => ({
  provider,
  points: rates.map(([batch, tokensPerSec]) => ({ batch, tokensPerSec })),
});

describe('buildReport', () => {
  const statuses = [
    { phase: 'detect', rc: 0, seconds: 3, timedOut: false },
    { phase: 'e2e-cpu', rc: 0, seconds: 90, timedOut: false },
  ];

  it('no GPU: says so plainly, with each provider and what it lacks, and keeps the CPU figures', () => {
    const r = buildReport({
      date: 'd',
      manifest: null,
      statuses,
      gpuInfo: null,
      baseline: null,
      phases: {
        detect: {
          usable: [],
          providers: [
            {
              provider: 'webgpu',
              ok: false,
              error: 'Failed to get a WebGPU adapter: No supported adapters',
              problems: ['no GPU device node'],
            },
            { provider: 'cuda', ok: false, skipped: 'not packed' },
          ],
        },
        'e2e-cpu': e2e('cpu', [
          [1, 50],
          [16, 120],
          [64, 110],
        ]),
      },
    });
    expect(r.summary.verdict).toBe(
      'NO GPU PROVIDER RAN: GPU figures are missing (webgpu: Failed to get a WebGPU adapter: No supported adapters; cuda: not packed); CPU figures only',
    );
    expect(r.summary.gpuProvidersNotRunning).toEqual([
      'webgpu: Failed to get a WebGPU adapter: No supported adapters; missing: no GPU device node',
      'cuda: not packed',
    ]);
    expect(r.summary.cpu.e2eBest).toEqual({ tokensPerSec: 120, batch: 16 });
    expect(r.summary.target.met).toBeNull();
  });

  it('a GPU run: parity, best tokens/s and the speed-up against this CPU and the 2-core baseline', () => {
    const r = buildReport({
      date: 'd',
      manifest: null,
      statuses: [...statuses, { phase: 'e2e-webgpu', rc: 124, seconds: 120, timedOut: true }],
      gpuInfo: 'NVIDIA H200',
      baseline: {
        source: 'gpu-check-cpu-2core.json',
        report: { phases: { 'e2e-cpu': e2e('cpu', [[16, 100]]) } },
      },
      phases: {
        detect: { usable: ['webgpu'], providers: [{ provider: 'webgpu', ok: true }] },
        'parity-webgpu': { provider: 'webgpu', forwards: { pass: true } },
        'e2e-webgpu': e2e('webgpu', [
          [16, 900],
          [64, 2500],
        ]),
        'e2e-cpu': e2e('cpu', [[16, 400]]),
      },
    });
    expect(r.summary.perGpu.webgpu).toEqual({
      parityPass: true,
      e2eBest: { tokensPerSec: 2500, batch: 64 },
      speedupVsThisMachineCpu: 6.25,
      speedupVsBaseline: 25,
    });
    expect(r.summary.target).toMatchObject({ ratio: SPEEDUP_TARGET, met: true });
    expect(r.summary.failedPhases).toEqual(['e2e-webgpu (timed out)']);
    expect(r.summary.verdict).toBe('GPU providers ran: webgpu (parity pass, best 2500 tok/s)');
  });
});
