import { loadModelBundle, OrtForward, type ForwardBatch } from '@dllm/engine';
import { flopsPerForward, readModelDimensions } from './flops';
import { round, type MatmulProbe } from './matmul-peak';
import { median, progress, settle } from './timing';

export interface ForwardPoint {
  batch: number;
  length: number;
  medianMs: number;
  gflop: number;
  gflops: number;
  /** gflops over the run's matmul peak (set by the caller) */
  ofPeak: number;
  /** the peak-shape matmul timed alternately with these forwards, and gflops over it */
  matmulGflops: number;
  ofInterleavedPeak: number;
  /** the same from the fastest forward and the fastest interleaved matmul (least disturbed by neighbours) */
  bestGflops: number;
  bestMatmulGflops: number;
  /** bestGflops over the run's best matmul rate (set by the caller) */
  bestOfPeak: number;
}

/**
 * The model's forward rate in-process: OrtForward.run on full rows (no padding) of `length` tokens,
 * fetching the reduced outputs exactly as the engine does, FLOPs from flops.ts. Each timed forward
 * is followed by one run of `probe` (the peak matmul shape), so a neighbour that slows the machine
 * for a while slows both and their ratio still means something.
 */
export async function measureModelForward(
  modelDir: string,
  shapes: { batch: number; length: number }[],
  probe: MatmulProbe,
  opts: { intraOpThreads: number; warmup: number; repeats: number },
): Promise<{ provider: string; points: ForwardPoint[] }> {
  const bundle = loadModelBundle(modelDir);
  const dims = readModelDimensions(modelDir);
  const forward = await OrtForward.create(bundle, { intraOpThreads: opts.intraOpThreads });
  const points: ForwardPoint[] = [];
  try {
    for (const { batch, length } of shapes) {
      const input = syntheticBatch(batch, length, bundle.vocabSize, bundle.maskId);
      for (let i = 0; i < opts.warmup; i++) await forward.run(input);
      const forwardMs: number[] = [];
      const matmulMs: number[] = [];
      for (let i = 0; i < opts.repeats; i++) {
        await settle();
        const t0 = performance.now();
        await forward.run(input);
        forwardMs.push(performance.now() - t0);
        await settle();
        matmulMs.push(await probe.run());
      }
      const ms = median(forwardMs);
      const gflop = flopsPerForward(dims, batch, length) / 1e9;
      const gflops = gflop / (ms / 1000);
      const matmulGflops = probe.flops / (median(matmulMs) * 1e6);
      points.push({
        batch,
        length,
        medianMs: round(ms),
        gflop: round(gflop, 3),
        gflops: round(gflops),
        ofPeak: NaN,
        matmulGflops: round(matmulGflops),
        ofInterleavedPeak: round(gflops / matmulGflops, 3),
        bestGflops: round(gflop / (Math.min(...forwardMs) / 1000)),
        bestMatmulGflops: round(probe.flops / (Math.min(...matmulMs) * 1e6)),
        bestOfPeak: NaN,
      });
      const p = points[points.length - 1]!;
      progress(
        `forward B=${batch} L=${length}: ${ms.toFixed(1)} ms, ${gflops.toFixed(1)} GFLOP/s ` +
          `(${(100 * p.ofInterleavedPeak).toFixed(0)}% of the interleaved matmul; fastest runs ${p.bestGflops} vs ${p.bestMatmulGflops})`,
      );
    }
  } finally {
    await forward.release();
  }
  return { provider: forward.provider, points };
}

/** Rows like the engine's mid-generation: ordinary tokens, then half of the second half masked. */
export function syntheticBatch(
  rows: number,
  length: number,
  vocab: number,
  maskId: number,
): ForwardBatch {
  const ids = new BigInt64Array(rows * length);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < length; p++) {
      const masked = p >= length / 2 && (p + r) % 2 === 0;
      ids[r * length + p] = BigInt(masked ? maskId : 3 + ((r * 7919 + p * 104729) % (vocab - 3)));
    }
  }
  return { rows, length, ids, attention: new BigInt64Array(rows * length).fill(1n) };
}
