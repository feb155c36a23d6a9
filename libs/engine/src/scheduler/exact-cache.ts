/**
 * The EXACT key/value cache of causal and block-causal models (autoregressive twins, Fast-dLLM v2,
 * SDAR): a position enters it once its keys/values can no longer change (its whole attention block
 * is committed), from the presents of the forward that computed it, and is never recomputed. A row's
 * forward is then a span against that cache (plans: sampler/exact-plan.ts).
 *
 * Batches are built over buffers that live as long as the scheduler: a row keeps its batch slot
 * and only positions appended since its last call are copied in (an AR step copies one position,
 * not the whole history). The past dimension grows in steps of PAST_GRAIN positions, so a batch
 * restrides (copies every row again) once per PAST_GRAIN appended tokens, and attends over at most
 * PAST_GRAIN - 1 masked slots more than it needs.
 */
import type { CacheGraphs } from '../bundle/model-bundle';
import type { DecodeBatch, DecodeResult } from '../runtime/forward-pass';
import type { ExactPlan } from '../sampler/exact-plan';
import { allocatePlanes, placeInSlots, writeSpan } from './cache-slots';

const PAST_GRAIN = 32;

export interface ExactCache {
  /** [layers, heads, capacity, head_dim], keys after the rotary embedding; capacity = row length */
  keys: Float32Array;
  values: Float32Array;
  capacity: number;
  /** positions [0, length) are exact */
  length: number;
}

export const exactCacheBytes = (c: ExactCache): number => 4 * (c.keys.length + c.values.length);

export function newExactCache(capacity: number, g: CacheGraphs): ExactCache {
  const size = g.layers * g.heads * capacity * g.headDim;
  return { keys: new Float32Array(size), values: new Float32Array(size), capacity, length: 0 };
}

/**
 * Appends span slots [slot, slot + count) of row `r` of a decode's presents
 * ([rows, layers, heads, span, head_dim]) to the cache, at its end.
 */
export function appendPresents(
  cache: ExactCache,
  res: DecodeResult,
  r: number,
  span: number,
  slot: number,
  count: number,
  g: CacheGraphs,
): void {
  if (count <= 0) return;
  if (cache.length + count > cache.capacity)
    throw new Error(`exact cache overflow: ${cache.length} + ${count} > ${cache.capacity}`);
  const planes = g.layers * g.heads;
  for (const [src, dst] of [
    [res.presentKeys!, cache.keys],
    [res.presentValues!, cache.values],
  ] as const) {
    for (let i = 0; i < planes; i++) {
      const from = ((r * planes + i) * span + slot) * g.headDim;
      dst.set(
        src.subarray(from, from + count * g.headDim),
        (i * cache.capacity + cache.length) * g.headDim,
      );
    }
  }
  cache.length += count;
}

/** One row of an exact-cache forward: its plan (span, past, head, append; sampler/exact-plan.ts) over its sequence and cache. */
export interface ExactRow extends Omit<ExactPlan, 'graph'> {
  ids: Int32Array;
  /** past <= cache.length */
  cache: ExactCache;
}

export class ExactBatchBuilder {
  /** per layer, [slots, heads, stride, head_dim] */
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];
  private owners: Array<{ cache: ExactCache; copied: number } | undefined> = [];
  private stride = 0;
  private slotsAllocated = 0;
  /** cache positions copied into the batch buffers since creation (for tests and stats) */
  copiedPositions = 0;

  constructor(private readonly g: CacheGraphs) {}

  /** The batch for `rows` and its order: output row i belongs to `order[i]`. */
  build<T extends ExactRow>(rows: readonly T[]): { batch: DecodeBatch; order: T[] } {
    const n = rows.length;
    const longest = Math.max(1, ...rows.map((r) => r.cache.length));
    const want = Math.ceil(longest / PAST_GRAIN) * PAST_GRAIN;
    if (longest > this.stride || want < this.stride / 2 || n > this.slotsAllocated)
      this.allocate(n, want);
    const order = this.place(rows);
    order.forEach((row, slot) => this.copyIn(row.cache, slot));
    this.owners.length = Math.min(this.owners.length, n);
    return { batch: this.assemble(order), order };
  }

  private allocate(slots: number, stride: number): void {
    const g = this.g;
    this.stride = stride;
    this.slotsAllocated = Math.max(slots, this.slotsAllocated);
    ({ keys: this.keys, values: this.values } = allocatePlanes(
      g.layers,
      this.slotsAllocated,
      g.heads * stride * g.headDim,
    ));
    this.owners = [];
  }

  private place<T extends ExactRow>(rows: readonly T[]): T[] {
    return placeInSlots(rows, (slot) => this.owners[slot]?.cache, this.owners.length);
  }

  /** Copies the positions of `cache` the slot does not hold yet. */
  private copyIn(cache: ExactCache, slot: number): void {
    const g = this.g;
    let owner = this.owners[slot];
    if (owner?.cache !== cache) owner = this.owners[slot] = { cache, copied: 0 };
    const from = owner.copied;
    const count = cache.length - from;
    if (count <= 0) return;
    const planeSize = g.heads * this.stride * g.headDim;
    for (let l = 0; l < g.layers; l++) {
      for (const [src, dst] of [
        [cache.keys, this.keys[l]!],
        [cache.values, this.values[l]!],
      ] as const) {
        for (let h = 0; h < g.heads; h++) {
          const at = ((l * g.heads + h) * cache.capacity + from) * g.headDim;
          dst.set(
            src.subarray(at, at + count * g.headDim),
            slot * planeSize + (h * this.stride + from) * g.headDim,
          );
        }
      }
    }
    owner.copied = cache.length;
    this.copiedPositions += count;
  }

  private assemble(order: readonly ExactRow[]): DecodeBatch {
    const g = this.g;
    const n = order.length;
    const span = Math.max(...order.map((r) => r.to - r.from));
    const headLength = Math.max(...order.map((r) => r.headTo - r.headFrom));
    const cached = this.stride;
    const ids = new BigInt64Array(n * span);
    const positions = new BigInt64Array(n * span);
    const queryMask = new BigInt64Array(n * span);
    const pastMask = new BigInt64Array(n * cached);
    const headSlots = new BigInt64Array(n * headLength);
    order.forEach((row, r) => {
      writeSpan(row, r, span, { ids, positions, queryMask });
      for (let p = 0; p < row.past; p++) pastMask[r * cached + p] = 1n;
      // padding head slots repeat the last one: in range, never read
      const last = row.headTo - 1 - row.from;
      for (let i = 0; i < headLength; i++)
        headSlots[r * headLength + i] = BigInt(Math.min(row.headFrom - row.from + i, last));
    });
    const used = n * g.heads * cached * g.headDim;
    return {
      rows: n,
      span,
      ids,
      positions,
      queryMask,
      cached,
      pastKeys: this.keys.map((k) => k.subarray(0, used)),
      pastValues: this.values.map((v) => v.subarray(0, used)),
      pastMask,
      headLength,
      headSlots,
      presents: order.some((r) => r.appendTo > r.appendFrom),
    };
  }
}
