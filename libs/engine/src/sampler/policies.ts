/**
 * Commit policies: given the masked candidates of one row's active block, choose which to commit
 * this step. Pure functions over plain arrays, so each rule can be checked with hand-made numbers.
 * Every policy commits at least one position, so a row always progresses.
 */

export interface Candidate {
  /** position in the row's sequence */
  position: number;
  /** model probability of the proposed token */
  confidence: number;
  /** entropy (nats) of the model's distribution at this position */
  entropy: number;
}

const byConfidence = (a: Candidate, b: Candidate): number =>
  b.confidence - a.confidence || a.position - b.position;
const byEntropy = (a: Candidate, b: Candidate): number =>
  a.entropy - b.entropy || a.position - b.position;

/**
 * LLaDA's uniform schedule: how many tokens each of `steps` steps commits so that `masked` tokens
 * are all committed, earlier steps taking the remainder.
 */
export function uniformSchedule(masked: number, steps: number): number[] {
  const base = Math.floor(masked / steps);
  const rest = masked % steps;
  return Array.from({ length: steps }, (_, i) => base + (i < rest ? 1 : 0));
}

/** fixed: the k most confident (lowest-confidence remasking, LLaDA generate.py). */
export function selectFixed(c: readonly Candidate[], k: number): Candidate[] {
  return [...c].sort(byConfidence).slice(0, Math.max(1, k));
}

/** threshold: every candidate with confidence >= tau, at least the best one (Fast-dLLM). */
export function selectThreshold(c: readonly Candidate[], tau: number): Candidate[] {
  const sorted = [...c].sort(byConfidence);
  const n = sorted.filter((x) => x.confidence >= tau).length;
  return sorted.slice(0, Math.max(1, n));
}

/**
 * factor: the largest n such that the n-th best confidence c_n satisfies c_n >= 1 - f/(n+1)
 * (Fast-dLLM's factor rule, (n+1)(1-c_n) <= f), at least one.
 */
export function selectFactor(c: readonly Candidate[], f: number): Candidate[] {
  const sorted = [...c].sort(byConfidence);
  let n = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (sorted[i - 1]!.confidence >= 1 - f / (i + 1)) n = i;
  }
  return sorted.slice(0, n);
}

/**
 * entropy: lowest-entropy first, the largest set whose summed entropy stays within gamma
 * (EB-sampler), at least one.
 */
export function selectEntropy(c: readonly Candidate[], gamma: number): Candidate[] {
  const sorted = [...c].sort(byEntropy);
  let sum = 0;
  let n = 0;
  for (const x of sorted) {
    if (n > 0 && sum + x.entropy > gamma) break;
    sum += x.entropy;
    n++;
  }
  return sorted.slice(0, Math.max(1, n));
}
