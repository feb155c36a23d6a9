import type { EngineStats } from '@dllm/engine';
import { round } from './matmul-peak';

export const GRAPHS = ['full', 'refresh', 'step', 'prefill', 'extend'] as const;
export type Graph = (typeof GRAPHS)[number];
type Counts = Partial<Record<Graph, number>>;

/** Per graph: forward calls and the mean rows one carried (small calls cost more per token). */
export type CallMix = Partial<Record<Graph, { calls: number; rowsPerCall: number }>>;

/** `calls` and `rows` summed over `per` runs; graphs that ran no call are left out. */
export function callMix(calls: Counts, rows: Counts, per = 1): CallMix {
  const mix: CallMix = {};
  for (const g of GRAPHS) {
    const n = calls[g] ?? 0;
    if (n) mix[g] = { calls: round(n / per, 1), rowsPerCall: round((rows[g] ?? 0) / n, 2) };
  }
  return mix;
}

/** The call mix between two engine stats snapshots. */
export const callMixBetween = (after: EngineStats, before: EngineStats): CallMix =>
  callMix(
    Object.fromEntries(GRAPHS.map((g) => [g, after.forwards[g] - before.forwards[g]])),
    Object.fromEntries(GRAPHS.map((g) => [g, after.rowsByGraph[g] - before.rowsByGraph[g]])),
  );
