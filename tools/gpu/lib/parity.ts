import type { ForwardResult } from '@dllm/engine';

/**
 * What "GPU and CPU agree" means here, on the graph's reduced outputs (top-8 ids and probabilities,
 * entropy) for the same inputs, at every real (unpadded) position:
 * - the top-1 id is the same, except where the CPU's best two probabilities are within
 *   TOP1_TIE_MARGIN of each other (a near-tie that fp32 summation order may flip; counted apart);
 * - every id in both top-k lists has probabilities within PROB_TOL;
 * - the entropies are within ENTROPY_TOL nats.
 */
export const PARITY_TOLERANCE = {
  TOP1_TIE_MARGIN: 1e-3,
  PROB_TOL: 1e-3,
  ENTROPY_TOL: 2e-3,
} as const;

export interface ParityStats {
  positions: number;
  top1Equal: number;
  /** top-1 differs at a near-tie (allowed) */
  top1NearTieFlips: number;
  /** top-1 differs where the CPU's choice was clear (not allowed) */
  top1Mismatches: number;
  /** probability pairs compared (ids present in both top-k lists) */
  probPairs: number;
  maxProbDiff: number;
  p99ProbDiff: number;
  maxEntropyDiff: number;
  p99EntropyDiff: number;
  /** a few offending positions, for debugging */
  examples: {
    row: number;
    pos: number;
    cpuTop1: string;
    gpuTop1: string;
    cpuP: number[];
    gpuP: number[];
  }[];
}

export interface ParityVerdict extends ParityStats {
  tolerance: typeof PARITY_TOLERANCE;
  pass: boolean;
}

function quantile(values: number[], q: number): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * Compares a GPU forward with a CPU forward of the same batch. `attention` [rows, length] marks
 * real positions (1); padding is not compared.
 */
export function compareReduced(
  cpu: ForwardResult,
  gpu: ForwardResult,
  attention: BigInt64Array,
): ParityStats {
  if (
    !cpu.topIds ||
    !cpu.topProbs ||
    !cpu.entropy ||
    !gpu.topIds ||
    !gpu.topProbs ||
    !gpu.entropy
  ) {
    throw new Error('parity needs the reduced outputs (top_ids, top_probs, entropy) of both runs');
  }
  if (cpu.rows !== gpu.rows || cpu.length !== gpu.length || cpu.k !== gpu.k) {
    throw new Error(
      `shape mismatch: cpu [${cpu.rows},${cpu.length},${cpu.k}] vs gpu [${gpu.rows},${gpu.length},${gpu.k}]`,
    );
  }
  const { rows, length, k } = cpu;
  const probDiffs: number[] = [];
  const entropyDiffs: number[] = [];
  const stats: ParityStats = {
    positions: 0,
    top1Equal: 0,
    top1NearTieFlips: 0,
    top1Mismatches: 0,
    probPairs: 0,
    maxProbDiff: 0,
    p99ProbDiff: 0,
    maxEntropyDiff: 0,
    p99EntropyDiff: 0,
    examples: [],
  };
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < length; p++) {
      const at = r * length + p;
      if (attention[at] !== 1n) continue;
      stats.positions++;
      const base = at * k;
      const cpuIds = cpu.topIds.subarray(base, base + k);
      const gpuIds = gpu.topIds.subarray(base, base + k);
      const cpuP = cpu.topProbs.subarray(base, base + k);
      const gpuP = gpu.topProbs.subarray(base, base + k);
      if (cpuIds[0] === gpuIds[0]) stats.top1Equal++;
      else {
        const nearTie = k > 1 && cpuP[0]! - cpuP[1]! <= PARITY_TOLERANCE.TOP1_TIE_MARGIN;
        if (nearTie) stats.top1NearTieFlips++;
        else stats.top1Mismatches++;
        if (stats.examples.length < 5) {
          stats.examples.push({
            row: r,
            pos: p,
            cpuTop1: String(cpuIds[0]),
            gpuTop1: String(gpuIds[0]),
            cpuP: [...cpuP.subarray(0, 3)],
            gpuP: [...gpuP.subarray(0, 3)],
          });
        }
      }
      for (let i = 0; i < k; i++) {
        const j = gpuIds.indexOf(cpuIds[i]!);
        if (j < 0) continue;
        probDiffs.push(Math.abs(cpuP[i]! - gpuP[j]!));
      }
      entropyDiffs.push(Math.abs(cpu.entropy[at]! - gpu.entropy[at]!));
    }
  }
  stats.probPairs = probDiffs.length;
  stats.maxProbDiff = probDiffs.reduce((a, b) => Math.max(a, b), 0);
  stats.p99ProbDiff = quantile(probDiffs, 0.99);
  stats.maxEntropyDiff = entropyDiffs.reduce((a, b) => Math.max(a, b), 0);
  stats.p99EntropyDiff = quantile(entropyDiffs, 0.99);
  return stats;
}

/** Adds up the stats of several batches and applies the tolerances. */
export function parityVerdict(parts: ParityStats[]): ParityVerdict {
  const sum = (f: (s: ParityStats) => number) => parts.reduce((a, s) => a + f(s), 0);
  const max = (f: (s: ParityStats) => number) => parts.reduce((a, s) => Math.max(a, f(s)), 0);
  const merged: ParityStats = {
    positions: sum((s) => s.positions),
    top1Equal: sum((s) => s.top1Equal),
    top1NearTieFlips: sum((s) => s.top1NearTieFlips),
    top1Mismatches: sum((s) => s.top1Mismatches),
    probPairs: sum((s) => s.probPairs),
    maxProbDiff: max((s) => s.maxProbDiff),
    // the worst batch's p99: an upper bound of the pooled one
    p99ProbDiff: max((s) => s.p99ProbDiff),
    maxEntropyDiff: max((s) => s.maxEntropyDiff),
    p99EntropyDiff: max((s) => s.p99EntropyDiff),
    examples: parts.flatMap((s) => s.examples).slice(0, 5),
  };
  const pass =
    merged.positions > 0 &&
    merged.top1Mismatches === 0 &&
    merged.maxProbDiff <= PARITY_TOLERANCE.PROB_TOL &&
    merged.maxEntropyDiff <= PARITY_TOLERANCE.ENTROPY_TOL;
  return { ...merged, tolerance: PARITY_TOLERANCE, pass };
}
