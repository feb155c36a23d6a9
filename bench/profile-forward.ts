/**
 * Where a forward's time goes: onnxruntime's own profiler (enableProfiling) over a few forwards of
 * the model, kernel time grouped by region and by op type, and the rate the matmuls themselves reach.
 *
 *   npx tsx bench/profile-forward.ts [--batch 16] [--length 128] [--runs 4] [--threads 0]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { loadModelBundle } from '@dllm/engine';
import { flopsPerToken, readModelDimensions } from './lib/flops';
import { round } from './lib/matmul-peak';
import { syntheticBatch } from './lib/model-forward';
import { engineSessionOptions } from './lib/session-options';
import { median, progress } from './lib/timing';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  ts: number;
  args?: { op_name?: string };
}

const VOCAB_TAIL =
  /^\/(LogSoftmax|Exp|Mul|ReduceSum|Neg|TopK)(_\d+)?_kernel_time$|^\/model\/Add_kernel_time$/;

/** Names are the exporter's (torch.onnx) after onnxruntime's fusions, e.g. /model/blocks.3/qkv/MatMul. */
function region(name: string, op: string): string {
  if (name === '/model/MatMul_kernel_time') return 'lm head matmul';
  if (VOCAB_TAIL.test(name)) return 'vocab tail: suppress, log_softmax, exp, entropy, topk';
  if (/(qkv|proj|mlp\/mlp\.\d)\/MatMul/.test(name)) return 'linear matmuls (qkv, proj, mlp)';
  if (
    op === 'MatMul' ||
    op === 'FusedMatMul' ||
    op === 'Softmax' ||
    /blocks\.\d+\/(Add_2|Div_1)_/.test(name)
  )
    return 'attention (scores, mask, softmax, values)';
  if (
    [
      'Slice',
      'Concat',
      'Split',
      'Transpose',
      'Reshape',
      'Squeeze',
      'Unsqueeze',
      'Shape',
      'Cast',
    ].includes(op) ||
    /blocks\.\d+\/(Mul_[0-7]|Mul|Sub(_1)?|Add(_1)?)_kernel/.test(name)
  ) {
    return 'layout + rotary (slice, concat, transpose, rotary mul/add)';
  }
  return 'norms, gelu, conv, bias and residual adds, embedding';
}

async function main(): Promise<void> {
  const o = new Command('profile-forward')
    .option('--model-dir <dir>', 'model bundle', 'models/dllm-code-small')
    .option('--batch <n>', 'rows', Number, 16)
    .option('--length <n>', 'tokens per row', Number, 128)
    .option('--runs <n>', 'profiled forwards after one warm-up', Number, 4)
    .option('--threads <n>', 'intra-op threads (0 = default)', Number, 0)
    .parse()
    .opts<{ modelDir: string; batch: number; length: number; runs: number; threads: number }>();
  const modelDir = resolve(o.modelDir);
  const bundle = loadModelBundle(modelDir);
  const dir = mkdtempSync(join(tmpdir(), 'dllm-profile-'));
  const session = await ort.InferenceSession.create(bundle.modelPath, {
    ...engineSessionOptions(o.threads),
    enableProfiling: true,
    profileFilePrefix: join(dir, 'forward'),
  });
  const b = syntheticBatch(o.batch, o.length, bundle.vocabSize, bundle.maskId);
  const dims = [o.batch, o.length];
  const feeds = {
    input_ids: new ort.Tensor('int64', b.ids, dims),
    attention_mask: new ort.Tensor('int64', b.attention, dims),
  };
  for (let i = 0; i <= o.runs; i++) await session.run(feeds, ['top_ids', 'top_probs', 'entropy']);
  session.endProfiling();
  await session.release();
  const events = JSON.parse(
    readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8'),
  ) as ProfileEvent[];
  rmSync(dir, { recursive: true });

  // drop the warm-up forward
  const runs = events.filter((e) => e.name === 'model_run').sort((x, y) => x.ts - y.ts);
  const warmEnd = runs[0]!.ts + runs[0]!.dur;
  const kernels = events.filter(
    (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts > warmEnd,
  );
  const n = runs.length - 1;
  const total = kernels.reduce((a, e) => a + e.dur, 0) / n;
  const group = (
    key: (e: ProfileEvent) => string,
  ): Record<string, { ms: number; share: number }> => {
    const m = new Map<string, number>();
    for (const e of kernels) m.set(key(e), (m.get(key(e)) ?? 0) + e.dur / n);
    return Object.fromEntries(
      [...m]
        .sort((x, y) => y[1] - x[1])
        .map(([k, us]) => [k, { ms: round(us / 1000), share: round(us / total, 3) }]),
    );
  };
  const byRegion = group((e) => region(e.name, e.args?.op_name ?? ''));
  const md = readModelDimensions(modelDir);
  const d = md.d_model;
  const tokens = o.batch * o.length;
  // the matmul FLOPs of flops.ts split into the parts the regions time
  const linearFlops =
    tokens * md.n_layers * (2 * 3 * d * d + 2 * d * d + 2 * 2 * md.mlp_ratio * d * d);
  const headFlops = tokens * 2 * d * md.vocab_size;
  const rate = (flops: number, r: string): number =>
    round(flops / ((byRegion[r]?.ms ?? NaN) * 1e6));
  const forwardMs = median(runs.slice(1).map((r) => r.dur / 1000));
  const result = {
    batch: o.batch,
    length: o.length,
    runs: n,
    forwardMs: round(forwardMs),
    kernelMs: round(total / 1000),
    modelGflops: round((tokens * flopsPerToken(md, o.length)) / (forwardMs * 1e6)),
    linearMatmulGflops: rate(linearFlops, 'linear matmuls (qkv, proj, mlp)'),
    lmHeadGflops: rate(headFlops, 'lm head matmul'),
    byRegion,
    byOpType: group((e) => e.args?.op_name ?? '?'),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  progress(`profiled ${n} forwards of ${o.batch}x${o.length}: ${result.forwardMs} ms each`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `profile-forward failed: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
