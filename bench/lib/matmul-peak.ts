import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { engineSessionOptions } from './session-options';
import { progress, timeIt } from './timing';

export const MATMUL_GRAPH = join(__dirname, '..', 'matmul.onnx');

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

export interface MatmulPoint extends MatmulShape {
  medianMs: number;
  gflops: number;
  /** from the fastest run: what the machine does when no neighbour gets in the way */
  bestGflops: number;
}

export interface MatmulPeak {
  /** best median GFLOP/s over the shapes */
  peakGflops: number;
  /** best fastest-run GFLOP/s over the shapes */
  bestPeakGflops: number;
  peakShape: MatmulShape;
  points: MatmulPoint[];
}

/** One matmul shape ready to run on bench/matmul.onnx: `run` resolves with its wall time in ms. */
export interface MatmulProbe {
  shape: MatmulShape;
  flops: number;
  run: () => Promise<number>;
}

/**
 * A session over bench/matmul.onnx (A [M,K] x B [K,N]) with the engine's options. B is a graph
 * input here, not a prepacked initializer as in the model, so this slightly underestimates what
 * MLAS does with weights.
 */
export class MatmulBench {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(intraOpThreads: number): Promise<MatmulBench> {
    return new MatmulBench(
      await ort.InferenceSession.create(MATMUL_GRAPH, engineSessionOptions(intraOpThreads)),
    );
  }

  probe(shape: MatmulShape): MatmulProbe {
    const { m, k, n } = shape;
    const feeds = {
      A: new ort.Tensor('float32', randomMatrix(m * k, 1), [m, k]),
      B: new ort.Tensor('float32', randomMatrix(k * n, 2), [k, n]),
    };
    return {
      shape,
      flops: 2 * m * n * k,
      run: async () => {
        const t0 = performance.now();
        await this.session.run(feeds);
        return performance.now() - t0;
      },
    };
  }

  /** GFLOP/s (2*M*N*K over the median time) at each shape; the peak is the best of them. */
  async peak(
    shapes: MatmulShape[],
    opts: { warmup: number; repeats: number },
  ): Promise<MatmulPeak> {
    const points: MatmulPoint[] = [];
    for (const shape of shapes) {
      const probe = this.probe(shape);
      const t = await timeIt(probe.run, opts.warmup, opts.repeats);
      const gflops = probe.flops / (t.medianMs * 1e6);
      points.push({
        ...shape,
        medianMs: round(t.medianMs),
        gflops: round(gflops),
        bestGflops: round(probe.flops / (t.minMs * 1e6)),
      });
      progress(
        `matmul ${shape.m}x${shape.k}x${shape.n}: ${t.medianMs.toFixed(1)} ms, ${gflops.toFixed(1)} GFLOP/s`,
      );
    }
    const best = points.reduce((a, b) => (b.gflops > a.gflops ? b : a));
    return {
      peakGflops: best.gflops,
      bestPeakGflops: Math.max(...points.map((p) => p.bestGflops)),
      peakShape: { m: best.m, k: best.k, n: best.n },
      points,
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Deterministic values in [-1, 1): the timing must not depend on the data, but zeros could. */
function randomMatrix(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
