import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The GPU check end to end on this CPU machine: pack (no archive, no model), then run.sh from
// outside the repository, as on a bare machine. WebGPU must fail here and be reported; the CPU
// phases must still produce figures.
jest.setTimeout(300_000);

describe('tools/gpu pack + run.sh (no GPU here)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'gpu-pack-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('packs, runs from the pack alone, reports the missing GPU and the CPU figures', () => {
    const pack = spawnSync(
      'bash',
      ['tools/gpu/check.sh', '--dest', dir, '--no-model', '--no-archive'],
      { encoding: 'utf8' },
    );
    expect(pack.status).toBe(0);
    const root = join(dir, 'build/dllm-gpu-check');
    for (const f of [
      'run.sh',
      'node/bin/node',
      'app/gpu-check.js',
      'app/engine-thread.js',
      'prompts.json',
      'MANIFEST.json',
    ]) {
      expect(existsSync(join(root, f))).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(root, 'MANIFEST.json'), 'utf8')) as {
      cudaProvider: string;
      model: string;
    };
    expect(manifest.cudaProvider).toMatch(
      /^not packed: onnxruntime-node does not ship its CUDA provider/,
    );
    expect(manifest.model).toMatch(/not packed/);

    const out = join(dir, 'out');
    const run = spawnSync(
      join(root, 'run.sh'),
      [
        '--out',
        out,
        '--model',
        resolve('models/dllm-code-small'),
        '--batches',
        '2,1',
        '--budget-s',
        '150',
      ],
      {
        encoding: 'utf8',
        cwd: tmpdir(),
        // a bare environment: nothing of the repository on the paths
        env: { PATH: '/usr/bin:/bin', HOME: dir },
      },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('NO GPU PROVIDER WORKS HERE');
    const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')) as {
      summary: {
        verdict: string;
        gpuProviders: string[];
        failedPhases: string[];
        cpu: { e2eBest: { tokensPerSec: number } | null };
      };
      phases: Record<
        string,
        {
          providers?: { provider: string; ok: boolean; error?: string; problems?: string[] }[];
          points?: { batch: number }[];
        }
      >;
    };
    expect(report.summary.gpuProviders).toEqual([]);
    expect(report.summary.verdict).toMatch(
      /^NO GPU PROVIDER RAN: GPU figures are missing \(webgpu: Failed to get a WebGPU adapter: No supported adapters; cuda: /,
    );
    expect(report.summary.failedPhases).toEqual([]);
    const webgpu = report.phases.detect!.providers!.find((p) => p.provider === 'webgpu')!;
    expect(webgpu.ok).toBe(false);
    expect(webgpu.problems!.length).toBeGreaterThan(0);
    expect(report.phases['forward-cpu']!.points!.map((p) => p.batch)).toEqual([1, 2]);
    // largest first; a smaller batch the measured rate says would overrun the phase's budget is skipped
    const e2e = report.phases['e2e-cpu'] as { points: { batch: number }[]; skipped: number[] };
    expect(e2e.points[e2e.points.length - 1]!.batch).toBe(2);
    expect([...e2e.points.map((p) => p.batch), ...e2e.skipped].sort()).toEqual([1, 2]);
    expect(report.summary.cpu.e2eBest!.tokensPerSec).toBeGreaterThan(0);
    expect(existsSync(join(out, 'run.log'))).toBe(true);
  });
});
