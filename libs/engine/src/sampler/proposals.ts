import type { Rng } from './rng';

/** The model's distribution at one position, reduced to its K most probable tokens. */
export interface TopK {
  ids: number[];
  /** probabilities at temperature 1, descending */
  probs: number[];
  /** entropy (nats) of the full distribution */
  entropy: number;
}

export interface SamplingOptions {
  temperature: number;
  top_k?: number;
  top_p: number;
}

export interface Proposal {
  token: number;
  /** model probability (temperature 1) of `token`: what policies rank by */
  confidence: number;
  entropy: number;
}

/**
 * Proposes a token for one masked position. Greedy at temperature 0; otherwise samples from the
 * top-K reduced distribution sharpened by temperature, then cut by top_k / top_p. Draws exactly one
 * number from `rng` either way, so a row's random stream depends only on its own positions.
 */
export function propose(
  dist: TopK,
  disallowed: ReadonlySet<number>,
  opts: SamplingOptions,
  rng: Rng,
): Proposal {
  const u = rng.next();
  const ids: number[] = [];
  const probs: number[] = [];
  for (let i = 0; i < dist.ids.length; i++) {
    if (!disallowed.has(dist.ids[i]!)) {
      ids.push(dist.ids[i]!);
      probs.push(dist.probs[i]!);
    }
  }
  if (ids.length === 0) {
    // every top-K candidate is disallowed: fall back to the best one anyway rather than stall
    return { token: dist.ids[0]!, confidence: dist.probs[0]!, entropy: dist.entropy };
  }
  if (opts.temperature === 0)
    return { token: ids[0]!, confidence: probs[0]!, entropy: dist.entropy };

  const keep = Math.min(ids.length, opts.top_k ?? ids.length);
  const weights = probs.slice(0, keep).map((p) => Math.pow(p, 1 / opts.temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  // nucleus: the smallest prefix (descending) whose mass reaches top_p
  let cut = weights.length;
  let mass = 0;
  for (let i = 0; i < weights.length; i++) {
    mass += weights[i]! / total;
    if (mass >= opts.top_p) {
      cut = i + 1;
      break;
    }
  }
  total = weights.slice(0, cut).reduce((a, b) => a + b, 0);
  let r = u * total;
  for (let i = 0; i < cut; i++) {
    r -= weights[i]!;
    if (r <= 0) return { token: ids[i]!, confidence: probs[i]!, entropy: dist.entropy };
  }
  return { token: ids[cut - 1]!, confidence: probs[cut - 1]!, entropy: dist.entropy };
}

/**
 * Reduces one position's full logits row (generic graphs that only output logits) to the top-K
 * distribution plus entropy, in one pass for the softmax and one for the selection.
 */
export function reduceLogits(logits: Float32Array, offset: number, vocab: number, k: number): TopK {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[offset + v]! > max) max = logits[offset + v]!;
  let sum = 0;
  let weighted = 0;
  for (let v = 0; v < vocab; v++) {
    const z = logits[offset + v]! - max;
    const e = Math.exp(z);
    sum += e;
    weighted += e * z;
  }
  const logSum = Math.log(sum);
  // H = log Z - E[z], with z = logit - max and Z = sum exp(z)
  const entropy = logSum - weighted / sum;
  const ids: number[] = [];
  const scores: number[] = [];
  for (let v = 0; v < vocab; v++) {
    const x = logits[offset + v]!;
    if (ids.length < k || x > scores[scores.length - 1]!) {
      let i = Math.min(ids.length, k - 1);
      if (ids.length < k) {
        ids.push(v);
        scores.push(x);
        i = ids.length - 1;
      }
      while (i > 0 && scores[i - 1]! < x) {
        ids[i] = ids[i - 1]!;
        scores[i] = scores[i - 1]!;
        i--;
      }
      ids[i] = v;
      scores[i] = x;
    }
  }
  return { ids, probs: scores.map((s) => Math.exp(s - max - logSum)), entropy };
}
