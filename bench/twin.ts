/**
 * npm run bench:twin -- [--hidden 256 --layers 4 --heads 4 --kv-heads 2 --mlp 1024] [--json OUT]
 *
 * A masked-diffusion model against its autoregressive parent of the SAME shape and weights (Dream
 * layout vs Qwen2.5-Coder layout, bench/lib/twin_checkpoints.py: random weights, real Qwen vocabulary
 * and tokenizer, imported fp32 with `npm run import`), decoded by the same engine on this CPU: tokens/s
 * at batch 1 and saturated, tokens per forward, ms per graph call, and resident memory per model
 * (each model in its own process; one session serves every graph path).
 *
 * The weights are random, so what a diffusion setting gains per forward is set by its policy here
 * (fixed k tokens per step), not earned by a trained model's confidence: this measures what each
 * decoder COSTS per token at a given tokens-per-forward, not the quality either would reach.
 * Prompts: validation files of the bundled model, tokenized with the twins' tokenizer. Only cached
 * decoding is timed (full recompute is bench:speed's vanilla; on this shape it costs a 151936-row
 * head at every position of every forward).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { DllmTokenizer } from '@dllm/engine';
import { listSourceFiles } from '../tools/eval/windows';
import { continuationWindows, machineInfo, tokenizedFiles, writeReport } from './lib/bench-setup';
import { intOption as int } from './lib/cli-options';
import { round } from './lib/matmul-peak';
import type { TwinJob } from './lib/twin-model';

const BLOCK = 32;
const DIFFUSION: TwinJob['settings'] = [
  ...[1, 2, 4].map((k) => ({
    label: `fixed k=${k}, dual cache`,
    params: {
      policy: 'fixed' as const,
      tokens_per_step: k,
      cache: 'dual' as const,
      block_length: BLOCK,
    },
  })),
];
const AUTOREGRESSIVE: TwinJob['settings'] = [
  { label: 'greedy, exact KV cache', params: { cache: 'auto' } },
];

const program = new Command('bench:twin')
  .description('diffusion model vs its autoregressive parent of the same shape: tokens/s, memory')
  .option('--json <file>', 'also write the JSON result here')
  .option('--hidden <n>', 'hidden size', int(8), 256)
  .option('--layers <n>', 'decoder layers', int(1), 4)
  .option('--heads <n>', 'query heads', int(1), 4)
  .option('--kv-heads <n>', 'key/value heads', int(1), 2)
  .option('--mlp <n>', 'MLP width', int(1), 1024)
  .option('--gen-length <n>', 'tokens generated per item', int(1), 64)
  .option('--prompt-tokens <n>', 'prompt tokens per item', int(1), 64)
  .option('--items <n>', 'items in the saturated run', int(1), 8)
  .option('--batch1-items <n>', 'items run one at a time', int(1), 2)
  .option('--rounds <n>', 'timed rounds (median)', int(1), 2)
  .option('--max-batch-rows <n>', 'engine maxBatchRows', int(1), 8)
  .option('--threads <n>', 'onnxruntime intra-op threads (0 = its default)', int(0), 0)
  .option(
    '--keep <dir>',
    'write the twin bundles here and keep them (default: a temp dir, removed)',
  );

interface Options {
  json?: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  mlp: number;
  genLength: number;
  promptTokens: number;
  items: number;
  batch1Items: number;
  rounds: number;
  maxBatchRows: number;
  threads: number;
  keep?: string;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`);
  return r.stdout;
}

function main(): void {
  const o = program.parse().opts<Options>();
  const t0 = performance.now();
  const dir = o.keep ? resolve(o.keep) : mkdtempSync(join(tmpdir(), 'twin-'));
  mkdirSync(dir, { recursive: true });
  try {
    const shape = [
      '--hidden',
      o.hidden,
      '--layers',
      o.layers,
      '--heads',
      o.heads,
      '--kv-heads',
      o.kvHeads,
      '--mlp',
      o.mlp,
    ];
    const paths = JSON.parse(
      run('/usr/bin/python3', ['bench/lib/twin_checkpoints.py', dir, ...shape.map(String)]),
    ) as Record<'dream-twin' | 'qwen2-twin', string>;
    const tok = DllmTokenizer.fromFile(join(paths['qwen2-twin'], 'tokenizer.json'));
    const files = tokenizedFiles(
      listSourceFiles(undefined, resolve('models/dllm-code-small')),
      tok,
    );
    const windows = continuationWindows(files, o.promptTokens, o.genLength, o.items, 4321, 512);
    const prompts = windows.map((w) => tok.decode(w.before));
    const models: Record<string, unknown> = {};
    for (const [name, modelDir, settings] of [
      ['diffusion (Dream layout, bidirectional, shifted)', paths['dream-twin'], DIFFUSION],
      ['autoregressive parent (Qwen2 layout, causal)', paths['qwen2-twin'], AUTOREGRESSIVE],
    ] as const) {
      const job: TwinJob = {
        modelDir,
        prompts,
        batch1Items: o.batch1Items,
        genLength: o.genLength,
        rounds: o.rounds,
        maxBatchRows: o.maxBatchRows,
        threads: o.threads,
        settings: [...settings],
      };
      const jobFile = join(dir, 'job.json');
      writeFileSync(jobFile, JSON.stringify(job));
      models[name] = {
        bundle: modelDir,
        bundle_bytes: Number(run('du', ['-sb', modelDir]).split('\t')[0]),
        ...JSON.parse(run(resolve('node_modules/.bin/tsx'), ['bench/lib/twin-model.ts', jobFile])),
      };
    }
    const out = {
      benchmark: 'bench:twin',
      date: new Date().toISOString(),
      shape: {
        hidden: o.hidden,
        layers: o.layers,
        heads: o.heads,
        kv_heads: o.kvHeads,
        mlp: o.mlp,
        vocab: 151936,
        weights: 'random, identical in both (same tensor names), fp32',
      },
      method:
        `${o.items} prompts of ${o.promptTokens} tokens (validation files of the bundled model, Qwen tokenizer), ` +
        `${o.genLength} tokens each, greedy, end-of-text not a stop; batch 1 = the first ${o.batch1Items} one at a time; ` +
        `saturated = all ${o.items} at once (maxBatchRows ${o.maxBatchRows}); median of ${o.rounds} rounds; ` +
        `diffusion blocks of ${BLOCK}; random weights: tokens per forward is set by the policy, not earned`,
      machine: { ...machineInfo(), note: 'shared with other work' },
      options: o,
      models,
      runtime_s: round((performance.now() - t0) / 1000, 1),
    };
    writeReport(out, o.json);
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench:twin: ${(err as Error).stack ?? (err as Error).message}\n`);
  process.exit(1);
}
