import { graphBlockStart } from './blocks';

/**
 * The next forward of a row with an EXACT cache (causal and block-causal models; cache in
 * scheduler/exact-cache.ts). Positions are absolute. Attention blocks are the graph's own:
 * block = position // blockSize (tools/import/spec.py), as in Fast-dLLM v2's and SDAR's generation
 * code, so the first canvas block may be partial: prompt positions sharing the graph block with the
 * canvas attend to its masks, so they are recomputed in every span of that block and enter the cache
 * only when the block is complete. Causal models are blockSize 1.
 *
 * - past: cache positions [0, from), all exact; prefix only (a dual suffix would be masks the block
 *   cannot attend to anyway).
 * - span [from, to): the active graph block (its committed prompt part included), preceded by
 *   whatever completed block is not cached yet. A completed block thus enters the cache FUSED into
 *   the next block's first forward (its presents are appended), instead of a separate refresh: one
 *   forward of ~2 blocks instead of a refresh forward (a block, or the whole sequence) plus a step.
 *   Causal models need no masks in the span: the span ends at the first masked position.
 * - shifted logits (Dream-style, every AR model): the prediction for position p is output p-1, so
 *   the block's first position needs the output of the slot before the block. We EXTEND THE SPAN ONE
 *   POSITION TO THE LEFT (that slot's cached entry is left out of the past, so it is not counted
 *   twice) rather than commit the block's first token from the forward that completed the previous
 *   block, as Fast-dLLM does: the policy then sees every masked position of the block at every step,
 *   exactly as full recompute does, so cached decoding commits the same tokens as uncached decoding
 *   (tested: scheduler-exact.spec.ts), at the price of one extra span slot. Under block-causal
 *   attention that slot's output does not depend on the active block, so it is exact.
 * - head: outputs [headFrom, headTo) = the block's positions, shifted left by one when logits are.
 * - append: span positions [appendFrom, appendTo) are final (their graph block is complete and
 *   committed): their presents enter the cache after the forward.
 */
export interface ExactPlan {
  /** prefill: the row's first forward (no cache yet; long span); extend: every later one */
  graph: 'prefill' | 'extend';
  from: number;
  to: number;
  past: number;
  headFrom: number;
  headTo: number;
  appendFrom: number;
  appendTo: number;
}

export interface ExactState {
  /** first position of the active decoding block (its first masked position at the latest) */
  blockStart: number;
  blockEnd: number;
  /** positions [0, cached) are in the exact cache */
  cached: number;
  blockSize: number;
  shift: boolean;
  causal: boolean;
}

export function exactPlan(s: ExactState): ExactPlan {
  const lead = s.shift ? 1 : 0;
  const final = s.causal ? s.blockStart : graphBlockStart(s.blockStart, s.blockSize);
  if (s.cached > final)
    throw new Error(`exact cache holds ${s.cached} positions, beyond the final ${final}`);
  const from = Math.max(0, Math.min(s.cached, s.blockStart - lead));
  const to = s.causal ? s.blockStart : s.blockEnd;
  return {
    graph: s.cached === 0 ? 'prefill' : 'extend',
    from,
    to,
    past: from,
    headFrom: s.blockStart - lead,
    headTo: s.blockEnd - lead,
    appendFrom: s.cached,
    appendTo: final,
  };
}
