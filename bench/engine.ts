/**
 * npm run bench:engine -- [--json OUT.json] [--rounds N] [--skip matmul,forward] [--pack on|off]
 *
 * One run, three measurements, JSON on stdout (and in --json), progress on stderr:
 *   1. the matmul peak of onnxruntime-node on this machine (bench/matmul.onnx),
 *   2. the model's forward FLOP/s per batch size against that peak,
 *   3. tokens/s of each commit policy through the Engine, at batch 1 and with the scheduler full.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import * as ort from 'onnxruntime-node';
import { loadModelBundle } from '@dllm/engine';
import { flopsPerToken, readModelDimensions } from './lib/flops';
import { MatmulBench, round, type MatmulPeak, type MatmulShape } from './lib/matmul-peak';
import { measureModelForward } from './lib/model-forward';
import { DEFAULT_POLICIES, measurePolicies } from './lib/policy-throughput';
import { validationPrompts } from './lib/prompts';
import { progress } from './lib/timing';
import { engineTuning, type EngineTuning, withEngineTuningOptions } from './lib/cli-options';

const FORWARD_TARGET = { minOfPeak: 0.7, fromBatch: 8 };
const JS_OVERHEAD_TARGET = { maxShare: 0.1 };

// M = rows x length tokens, K = d_model, N = the model's linear widths (3d, 4d, V) and one square
const MATMUL_SHAPES: MatmulShape[] = [
  ...[2048, 4096, 8192].flatMap((m) => [768, 1024, 4096].map((n) => ({ m, k: 256, n }))),
  { m: 1024, k: 1024, n: 1024 },
];

const int =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
const intList = (v: string): number[] => v.split(',').map(int(1));

const program = withEngineTuningOptions(new Command('bench:engine'))
  .description('matmul peak, model forward FLOP/s and per-policy tokens/s in one run')
  .option('--json <file>', 'also write the JSON result here')
  .option('--model-dir <dir>', 'model bundle', 'models/dllm-code-small')
  .option(
    '--threads <n>',
    'onnxruntime intra-op threads (0 = its default), for every session',
    int(0),
    0,
  )
  .option('--matmul-repeats <n>', 'timed runs per matmul shape', int(1), 7)
  .option('--forward-repeats <n>', 'timed forwards per batch shape', int(1), 5)
  .option('--batches <list>', 'forward batch sizes', intList, [1, 4, 8, 16, 32])
  .option('--lengths <list>', 'forward sequence lengths', intList, [256, 128])
  .option('--items <n>', 'prompts in the saturated scenario', int(1), 64)
  .option(
    '--batch1-items <n>',
    'prompts in the batch-1 scenario (the first of the same set)',
    int(1),
    8,
  )
  .option('--max-batch-rows <n>', 'engine maxBatchRows in the saturated scenario', int(1), 16)
  .option('--prompt-tokens <n>', 'prompt window from the validation files', int(1), 64)
  .option('--gen-length <n>', 'tokens generated per prompt', int(1), 64)
  .option('--seed <n>', 'seed of item i is seed + i', int(0), 1234)
  .option(
    '--rounds <n>',
    'policy rounds (order rotated per round; tokens/s and speedup: median)',
    int(1),
    1,
  )
  .option('--skip <parts>', 'leave out some of: matmul,forward,policies', '');

interface Options extends EngineTuning {
  json?: string;
  modelDir: string;
  threads: number;
  matmulRepeats: number;
  forwardRepeats: number;
  batches: number[];
  lengths: number[];
  items: number;
  batch1Items: number;
  maxBatchRows: number;
  promptTokens: number;
  genLength: number;
  seed: number;
  rounds: number;
  skip: string;
}

async function main(): Promise<void> {
  const o = program.parse().opts<Options>();
  const skip = new Set(o.skip.split(',').filter(Boolean));
  const modelDir = resolve(o.modelDir);
  const started = performance.now();
  const loadStart = loadavg();
  const dims = readModelDimensions(modelDir);

  const matmulBench = await MatmulBench.create(o.threads);
  // reference: the best median matmul rate anywhere in the run; bestReference: the same from fastest runs
  let matmul: (MatmulPeak & { referenceGflops: number; bestReferenceGflops?: number }) | null =
    null;
  let forward: Record<string, unknown> | null = null;
  try {
    if (!skip.has('matmul')) {
      progress('1/3 matmul peak');
      const peak = await matmulBench.peak(MATMUL_SHAPES, { warmup: 2, repeats: o.matmulRepeats });
      matmul = { ...peak, referenceGflops: peak.peakGflops };
    }
    if (!skip.has('forward')) {
      progress('2/3 model forward');
      const shapes = o.lengths.flatMap((length) => o.batches.map((batch) => ({ batch, length })));
      const probe = matmulBench.probe(matmul?.peakShape ?? { m: 1024, k: 1024, n: 1024 });
      const fwd = await measureModelForward(modelDir, shapes, probe, {
        intraOpThreads: o.threads,
        warmup: 1,
        repeats: o.forwardRepeats,
      });
      // a busy neighbour only slows things down: the best matmul rate seen anywhere in the run is the peak
      const reference = Math.max(matmul?.peakGflops ?? 0, ...fwd.points.map((p) => p.matmulGflops));
      const bestReference = Math.max(
        matmul?.bestPeakGflops ?? 0,
        ...fwd.points.map((p) => p.bestMatmulGflops),
      );
      if (matmul)
        Object.assign(matmul, { referenceGflops: reference, bestReferenceGflops: bestReference });
      for (const p of fwd.points) {
        p.ofPeak = round(p.gflops / reference, 3);
        p.bestOfPeak = round(p.bestGflops / bestReference, 3);
      }
      const counted = fwd.points.filter((p) => p.batch >= FORWARD_TARGET.fromBatch);
      forward = {
        provider: fwd.provider,
        flopsPerToken: Object.fromEntries(o.lengths.map((l) => [l, flopsPerToken(dims, l)])),
        points: fwd.points,
        target: {
          ...FORWARD_TARGET,
          metAgainstPeak:
            counted.length > 0 && counted.every((p) => p.ofPeak >= FORWARD_TARGET.minOfPeak),
          metAgainstInterleaved:
            counted.length > 0 &&
            counted.every((p) => p.ofInterleavedPeak >= FORWARD_TARGET.minOfPeak),
          metBestOfRuns:
            counted.length > 0 && counted.every((p) => p.bestOfPeak >= FORWARD_TARGET.minOfPeak),
        },
      };
    }
  } finally {
    await matmulBench.release();
  }

  let policies: Record<string, unknown> | null = null;
  if (!skip.has('policies')) {
    progress('3/3 policies through the Engine');
    const bundle = loadModelBundle(modelDir);
    const set = validationPrompts(
      modelDir,
      bundle.tokenizer,
      Math.max(o.items, o.batch1Items),
      o.promptTokens,
    );
    const common = {
      modelDir,
      intraOpThreads: o.threads,
      tuning: engineTuning(o),
      genLength: o.genLength,
      seed: o.seed,
      rounds: o.rounds,
      policies: DEFAULT_POLICIES,
    };
    const batch1 = await measurePolicies('batch 1', {
      ...common,
      maxBatchRows: 1,
      prompts: set.prompts.slice(0, o.batch1Items),
    });
    const saturated = await measurePolicies('saturated', {
      ...common,
      maxBatchRows: o.maxBatchRows,
      prompts: set.prompts.slice(0, o.items),
    });
    policies = {
      settings: DEFAULT_POLICIES,
      batch1,
      saturated,
      jsOverheadTarget: {
        ...JS_OVERHEAD_TARGET,
        scenario: 'saturated',
        met: saturated.every((p) => p.jsOverheadShare <= JS_OVERHEAD_TARGET.maxShare),
      },
      promptSources: set.sources.slice(0, Math.max(o.items, o.batch1Items)),
    };
  }

  const result = {
    bench: 'engine',
    date: new Date().toISOString(),
    host: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      node: process.version,
      onnxruntime: ort.env.versions.node ?? 'unknown',
      loadavgStart: loadStart.map((x) => round(x)),
      loadavgEnd: loadavg().map((x) => round(x)),
    },
    config: {
      modelDir: o.modelDir,
      dimensions: dims,
      intraOpThreads: o.threads,
      tuning: engineTuning(o),
      matmulShapes: MATMUL_SHAPES,
      matmulRepeats: o.matmulRepeats,
      forwardRepeats: o.forwardRepeats,
      batches: o.batches,
      lengths: o.lengths,
      items: o.items,
      batch1Items: o.batch1Items,
      maxBatchRows: o.maxBatchRows,
      promptTokens: o.promptTokens,
      genLength: o.genLength,
      seed: o.seed,
      rounds: o.rounds,
      stopAtEos: false,
      skip: [...skip],
    },
    matmul,
    forward,
    policies,
    elapsedS: round((performance.now() - started) / 1000, 1),
  };
  const json = JSON.stringify(result, null, 2);
  process.stdout.write(`${json}\n`);
  if (o.json) writeFileSync(o.json, `${json}\n`);
  progress(`done in ${result.elapsedS} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:engine failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
