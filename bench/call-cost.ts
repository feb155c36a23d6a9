/**
 * npm run bench:call-cost -- [--json OUT.json] [--rows 1,2,4,8,12,16] [--repeats 15]
 *
 * What one refresh call and one step call of the cache graphs cost, by rows per call, in-process
 * (OrtForward, as the engine thread runs them): ms per call and per row, each graph timed on its own
 * and interleaved refresh/step (as a scheduler step with rows at both phases runs them). Under
 * several session settings (intra-op spinning on/off, thread counts), so the engine's defaults are
 * chosen by measurement. JSON on stdout, progress on stderr.
 */
import { Command } from 'commander';
import { OrtForward, type ModelBundle, type RefreshBatch, type StepBatch } from '@dllm/engine';
import { loadBenchModel, machineInfo, writeReport } from './lib/bench-setup';
import { intOption as int } from './lib/cli-options';
import { round } from './lib/matmul-peak';
import { median, progress } from './lib/timing';

const list = (v: string): number[] => v.split(',').map(int(1));

const program = new Command('bench:call-cost')
  .option('--json <file>', 'also write the JSON result here')
  .option('--model <dir>', 'model bundle', 'models/dllm-code-small')
  .option('--rows <list>', 'rows per call', list, [1, 2, 4, 8, 12, 16])
  .option('--length <n>', 'sequence length (refresh) and cached positions (step)', int(2), 256)
  .option('--span <n>', 'step span (the block)', int(1), 32)
  .option('--repeats <n>', 'timed calls per point', int(1), 15)
  .option(
    '--configs <list>',
    'session settings: threads:spin pairs, threads 0 = default',
    '0:spin,0:nospin,1:nospin',
  );

interface Options {
  json?: string;
  model: string;
  rows: number[];
  length: number;
  span: number;
  repeats: number;
  configs: string;
}

function refreshBatch(b: ModelBundle, rows: number, length: number, span: number): RefreshBatch {
  const g = b.cacheGraphs!;
  const ids = new BigInt64Array(rows * length);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(i % 3 ? 3 + (i % 1000) : b.maskId);
  const from = length - span;
  const headPositions = new BigInt64Array(rows * span);
  for (let i = 0; i < headPositions.length; i++) headPositions[i] = BigInt(from + (i % span));
  const haloPositions = new BigInt64Array(rows * 2 * g.halo);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < 2 * g.halo; j++)
      haloPositions[r * 2 * g.halo + j] = BigInt(Math.min(length - 1, from - g.halo + j));
  return {
    rows,
    length,
    ids,
    attention: new BigInt64Array(rows * length).fill(1n),
    headLength: span,
    headPositions,
    haloPositions,
  };
}

function stepBatch(b: ModelBundle, rows: number, cached: number, span: number): StepBatch {
  const g = b.cacheGraphs!;
  const from = cached - span;
  const ids = new BigInt64Array(rows * span).fill(BigInt(b.maskId));
  const positions = new BigInt64Array(rows * span);
  for (let i = 0; i < positions.length; i++) positions[i] = BigInt(from + (i % span));
  const pastMask = new BigInt64Array(rows * cached);
  for (let i = 0; i < pastMask.length; i++) pastMask[i] = i % cached < from ? 1n : 0n;
  const size = rows * g.heads * cached * g.headDim;
  const past = () =>
    Array.from({ length: g.layers }, () => new Float32Array(size).map((_, i) => (i % 7) / 7));
  return {
    rows,
    span,
    ids,
    positions,
    queryMask: new BigInt64Array(rows * span).fill(1n),
    cached,
    pastKeys: past(),
    pastValues: past(),
    pastMask,
    halo: new Float32Array(rows * g.layers * 2 * g.halo * g.dModel),
  };
}

async function timeCalls(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function main(): Promise<void> {
  const o = program.parse().opts<Options>();
  const { bundle } = loadBenchModel(o.model);
  if (!bundle.cacheGraphs) throw new Error(`${o.model} has no cache graphs`);
  const started = performance.now();
  const configs = o.configs.split(',').map((c) => {
    const [threads, spin] = c.split(':');
    return { threads: Number(threads), spinning: spin !== 'nospin' };
  });
  const results = [];
  for (const c of configs) {
    const forward = await OrtForward.create(bundle, {
      intraOpThreads: c.threads,
      intraOpSpinning: c.spinning,
    });
    const points = [];
    try {
      for (const rows of o.rows) {
        const rb = refreshBatch(bundle, rows, o.length, o.span);
        const sb = stepBatch(bundle, rows, o.length, o.span);
        const refreshMs = await timeCalls(() => forward.refresh!(rb), o.repeats);
        const stepMs = await timeCalls(() => forward.step!(sb), o.repeats);
        // a scheduler step with rows at both phases: one refresh and one step call back to back
        const pairMs = await timeCalls(async () => {
          await forward.refresh!(rb);
          await forward.step!(sb);
        }, o.repeats);
        const p = {
          rows,
          refreshMs: round(refreshMs, 2),
          refreshMsPerRow: round(refreshMs / rows, 2),
          stepMs: round(stepMs, 2),
          stepMsPerRow: round(stepMs / rows, 2),
          refreshInSteps: round(refreshMs / stepMs, 2),
          /** the pair over refresh + step timed apart: > 1 when the two sessions get in each other's way */
          interleavePenalty: round(pairMs / (refreshMs + stepMs), 3),
        };
        points.push(p);
        progress(
          `threads ${c.threads} spin ${c.spinning} rows ${rows}: refresh ${p.refreshMs} ms, step ${p.stepMs} ms, pair x${p.interleavePenalty}`,
        );
      }
    } finally {
      await forward.release();
    }
    results.push({ ...c, points });
  }
  const out = {
    bench: 'call-cost',
    date: new Date().toISOString(),
    machine: machineInfo(),
    options: o,
    results,
    elapsedS: round((performance.now() - started) / 1000, 1),
  };
  writeReport(out, o.json);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:call-cost failed: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
