/**
 * Which onnxruntime session options (or alternative graphs) make the model's forward faster: every
 * variant gets its own session, and the forwards are interleaved round by round so a busy neighbour
 * slows all variants alike. Prints the median ms per variant and its ratio to the engine's options.
 *
 *   npx tsx bench/forward-options.ts [--batch 16] [--length 128] [--rounds 7] [--graph other.onnx ...]
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { loadModelBundle } from '@dllm/engine';
import { round } from './lib/matmul-peak';
import { syntheticBatch } from './lib/model-forward';
import { engineSessionOptions } from './lib/session-options';
import { median, progress, settle } from './lib/timing';

type Options = ort.InferenceSession.SessionOptions;

/** name -> changes to the engine's options; the first is the engine as it is */
const VARIANTS: [string, Options][] = [
  ['engine (as OrtForward)', {}],
  ['intraOpNumThreads = 1', { intraOpNumThreads: 1 }],
  ['intraOpNumThreads = cores', { intraOpNumThreads: 0 }],
  ['graphOptimizationLevel extended', { graphOptimizationLevel: 'extended' }],
  ['graphOptimizationLevel basic', { graphOptimizationLevel: 'basic' }],
  ['executionMode parallel', { executionMode: 'parallel' }],
  ['enableCpuMemArena false', { enableCpuMemArena: false }],
  ['enableMemPattern false', { enableMemPattern: false }],
  ['no intra-op spinning', { extra: { session: { intra_op: { allow_spinning: '0' } } } }],
  ['denormals as zero', { extra: { session: { set_denormal_as_zero: '1' } } }],
];

async function main(): Promise<void> {
  const o = new Command('forward-options')
    .option('--model-dir <dir>', 'model bundle', 'models/dllm-code-small')
    .option('--batch <n>', 'rows', Number, 16)
    .option('--length <n>', 'tokens per row', Number, 128)
    .option('--rounds <n>', 'timed forwards per variant', Number, 7)
    .option('--threads <n>', "the engine's intra-op threads (0 = default)", Number, 0)
    .option('--only-engine', 'skip the session-option variants (compare --graph files only)')
    .option(
      '--graph <file...>',
      'alternative graphs (same inputs and reduced outputs) run with the engine options',
    )
    .parse()
    .opts<{
      modelDir: string;
      batch: number;
      length: number;
      rounds: number;
      threads: number;
      onlyEngine?: boolean;
      graph?: string[];
    }>();
  const bundle = loadModelBundle(resolve(o.modelDir));
  const base = engineSessionOptions(o.threads);
  const cores = (await import('node:os')).cpus().length;
  const variants = (o.onlyEngine ? VARIANTS.slice(0, 1) : VARIANTS).map(([name, change]) => ({
    name,
    path: bundle.modelPath,
    options: {
      ...base,
      ...change,
      ...(change.intraOpNumThreads === 0 ? { intraOpNumThreads: cores } : {}),
    },
  }));
  for (const g of o.graph ?? [])
    variants.push({ name: `graph ${g}`, path: resolve(g), options: base });
  const sessions = [];
  for (const v of variants) sessions.push(await ort.InferenceSession.create(v.path, v.options));
  const b = syntheticBatch(o.batch, o.length, bundle.vocabSize, bundle.maskId);
  const dims = [o.batch, o.length];
  const feeds = {
    input_ids: new ort.Tensor('int64', b.ids, dims),
    attention_mask: new ort.Tensor('int64', b.attention, dims),
  };
  const fetches = ['top_ids', 'top_probs', 'entropy'];
  for (const s of sessions) await s.run(feeds, fetches);
  const ms: number[][] = variants.map(() => []);
  for (let r = 0; r < o.rounds; r++) {
    // rotate the order each round so no variant always runs right after the same neighbour
    for (let j = 0; j < sessions.length; j++) {
      const i = (j + r) % sessions.length;
      await settle();
      const t0 = performance.now();
      await sessions[i]!.run(feeds, fetches);
      ms[i]!.push(performance.now() - t0);
    }
    progress(`round ${r + 1}/${o.rounds}`);
  }
  for (const s of sessions) await s.release();
  const baseMs = median(ms[0]!);
  const rows = variants.map((v, i) => ({
    variant: v.name,
    medianMs: round(median(ms[i]!)),
    ratio: round(median(ms[i]!) / baseMs, 3),
  }));
  process.stdout.write(
    `${JSON.stringify({ batch: o.batch, length: o.length, rounds: o.rounds, variants: rows }, null, 2)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `forward-options failed: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
