/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (!values.length) throw new Error('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Timing {
  /** median wall time of one call, ms */
  medianMs: number;
  minMs: number;
  samples: number;
}

/** Runs `fn` `warmup` times untimed, then `repeats` times timed; the median resists a busy machine. */
export async function timeIt(
  fn: () => Promise<unknown>,
  warmup: number,
  repeats: number,
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { medianMs: median(ms), minMs: Math.min(...ms), samples: repeats };
}

/** Human progress goes to stderr so stdout stays machine-readable JSON. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Each onnxruntime session has its own intra-op pool whose threads spin for a while after a run; on
 * a small machine another session's spinners halve the next run's speed (measured here: a 1024^3
 * matmul right after a model forward ~85 GFLOP/s, 50 ms later ~150). The engine has one session,
 * so wait for them to park before timing a different session.
 */
export function settle(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
