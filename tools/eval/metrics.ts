/**
 * Exact-token accuracy: position-wise equality of the output's tokens with the reference's, over the
 * reference's length (missing output positions count as wrong, extra ones are ignored).
 */
export function tokenMatches(output: readonly number[], reference: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < reference.length; i++) if (output[i] === reference[i]) n++;
  return n;
}

/** What one generated item contributes to a (task, setting) summary. */
export interface ItemOutcome {
  matches: number;
  referenceTokens: number;
  exact: boolean;
  forwards: number;
  generatedTokens: number;
  /** the whole file, with the output in place of the span, passes `ast.parse` */
  parses: boolean;
  /** 4-grams of the output that repeat an earlier 4-gram of the output, of all its 4-grams */
  repeated4: number;
  fourGrams: number;
}

export interface Summary {
  items: number;
  /** exact-token accuracy, % of reference tokens */
  accuracy: number;
  /** % of items whose output text equals the reference text */
  exact_match: number;
  mean_forwards: number;
  tokens_per_forward: number;
  /** generated tokens per second of wall time, all items submitted at once */
  tokens_per_s: number;
  wall_s: number;
  /** % of items after which the whole file still parses */
  parse_rate: number;
  /** 95% Wilson interval of parse_rate */
  parse_rate_ci95: [number, number];
  /** % of generated 4-grams that repeat an earlier one in the same output (degeneration) */
  repeated_4gram_share: number;
}

export function summarize(items: readonly ItemOutcome[], wallMs: number): Summary {
  const sum = (f: (o: ItemOutcome) => number): number => items.reduce((a, o) => a + f(o), 0);
  const forwards = sum((o) => o.forwards);
  const tokens = sum((o) => o.generatedTokens);
  return {
    items: items.length,
    accuracy:
      (100 * sum((o) => o.matches)) /
      Math.max(
        1,
        sum((o) => o.referenceTokens),
      ),
    exact_match: (100 * sum((o) => (o.exact ? 1 : 0))) / Math.max(1, items.length),
    mean_forwards: forwards / Math.max(1, items.length),
    tokens_per_forward: tokens / Math.max(1, forwards),
    tokens_per_s: tokens / Math.max(1e-9, wallMs / 1000),
    wall_s: wallMs / 1000,
    parse_rate: (100 * sum((o) => (o.parses ? 1 : 0))) / Math.max(1, items.length),
    parse_rate_ci95: wilson(
      sum((o) => (o.parses ? 1 : 0)),
      items.length,
    ),
    repeated_4gram_share:
      (100 * sum((o) => o.repeated4)) /
      Math.max(
        1,
        sum((o) => o.fourGrams),
      ),
  };
}

/** 95% Wilson score interval of a proportion, in %. */
export function wilson(successes: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 100];
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [100 * Math.max(0, centre - half), 100 * Math.min(1, centre + half)];
}

/**
 * 95% interval of accuracy(b) - accuracy(a) in points, by a paired bootstrap over items (a[i] and
 * b[i] are the same window), seeded so a report is reproducible.
 */
export function pairedDeltaCi(
  a: readonly ItemOutcome[],
  b: readonly ItemOutcome[],
  rand: () => number,
  reps = 2000,
): [number, number] {
  if (a.length !== b.length)
    throw new Error(`paired bootstrap needs the same items (${a.length} vs ${b.length})`);
  const n = a.length;
  const deltas: number[] = [];
  for (let r = 0; r < reps; r++) {
    let ma = 0;
    let mb = 0;
    let ref = 0;
    for (let j = 0; j < n; j++) {
      const i = Math.floor(rand() * n);
      ma += a[i]!.matches;
      mb += b[i]!.matches;
      ref += a[i]!.referenceTokens;
    }
    deltas.push((100 * (mb - ma)) / Math.max(1, ref));
  }
  deltas.sort((x, y) => x - y);
  return [deltas[Math.floor(0.025 * reps)]!, deltas[Math.ceil(0.975 * reps) - 1]!];
}
