/**
 * Packing rows into the full and refresh forwards, and keeping each row's cached keys/values between a
 * refresh and the steps that follow it (step batches: step-batch-builder.ts). Rows of one call may be at different
 * phases and lengths: sequences, spans and caches are right-padded to the longest, padding masked.
 */
import type { CacheGraphs } from '../bundle/model-bundle';
import type { ForwardBatch, RefreshBatch, RefreshResult } from '../runtime/forward-pass';

/**
 * One row's state from its last refresh. Lives in the engine thread; dropped when the row ends.
 * Keys and values stay where the refresh returned them (no per-row copy): the call's whole output,
 * shared by its rows, with this row's planes at `offset + plane * planeStride`.
 */
export interface RowCache {
  /** the refresh output [rows, layers, heads, paddedLength, head_dim], after the rotary embedding */
  keys: Float32Array;
  /** the refresh output [rows, layers, heads, paddedLength, head_dim] */
  values: Float32Array;
  /** where this row's first (layer, head) plane starts in keys/values */
  offset: number;
  /** floats from one (layer, head) plane to the next: paddedLength x head_dim */
  planeStride: number;
  /** this row's own keys/values/halo bytes (its share of the shared output) */
  bytes: number;
  /** [layers, 2 * halo, d_model]: convolution inputs left, then right, of the block; zero outside the row */
  halo: Float32Array;
  /** positions cached: the row's length */
  length: number;
  /** the block the cache was taken for: a new block needs a refresh */
  blockStart: number;
  stepsSinceRefresh: number;
}

export const rowCacheBytes = (c: RowCache): number => c.bytes;

/** A row's sequence and the positions its forward is about. */
export interface PackedRow {
  ids: Int32Array;
  from: number;
  to: number;
}

export function fullBatch(rows: readonly Int32Array[], padId: number): ForwardBatch {
  const length = Math.max(...rows.map((s) => s.length));
  const ids = new BigInt64Array(rows.length * length).fill(BigInt(padId));
  const attention = new BigInt64Array(rows.length * length);
  rows.forEach((seq, r) => {
    for (let p = 0; p < seq.length; p++) {
      ids[r * length + p] = BigInt(seq[p]!);
      attention[r * length + p] = 1n;
    }
  });
  return { rows: rows.length, length, ids, attention };
}

/** Whole sequences in; head over each row's [from, to), halo around it. */
export function refreshBatch(
  rows: readonly PackedRow[],
  padId: number,
  halo: number,
): RefreshBatch {
  const base = fullBatch(
    rows.map((r) => r.ids),
    padId,
  );
  const headLength = Math.max(...rows.map((r) => r.to - r.from));
  const headPositions = new BigInt64Array(rows.length * headLength);
  const haloPositions = new BigInt64Array(rows.length * 2 * halo);
  rows.forEach((row, r) => {
    // padding slots repeat the last position: in range, never read
    for (let i = 0; i < headLength; i++)
      headPositions[r * headLength + i] = BigInt(row.from + Math.min(i, row.to - row.from - 1));
    const last = row.ids.length - 1;
    for (let j = 0; j < halo; j++) {
      haloPositions[r * 2 * halo + j] = BigInt(Math.max(0, row.from - halo + j));
      haloPositions[r * 2 * halo + halo + j] = BigInt(Math.min(last, row.to + j));
    }
  });
  return { ...base, headLength, headPositions, haloPositions };
}

/** Row `r`'s part of a refresh's outputs: keys/values read in place, the small halo copied. */
export function takeCache(
  res: RefreshResult,
  r: number,
  paddedLength: number,
  row: PackedRow,
  g: CacheGraphs,
): RowCache {
  const planes = g.layers * g.heads;
  const length = row.ids.length;
  const haloSize = g.layers * 2 * g.halo * g.dModel;
  const halo = res.halo.slice(r * haloSize, (r + 1) * haloSize);
  for (let l = 0; l < g.layers; l++) {
    for (let j = 0; j < 2 * g.halo; j++) {
      const position = j < g.halo ? row.from - g.halo + j : row.to + (j - g.halo);
      if (position < 0 || position >= length)
        halo.fill(0, (l * 2 * g.halo + j) * g.dModel, (l * 2 * g.halo + j + 1) * g.dModel);
    }
  }
  return {
    keys: res.keys,
    values: res.values,
    offset: r * planes * paddedLength * g.headDim,
    planeStride: paddedLength * g.headDim,
    bytes: 4 * (2 * planes * length * g.headDim + halo.length),
    halo,
    length,
    blockStart: row.from,
    stepsSinceRefresh: 0,
  };
}

/** A step row: its span [from, to), the first `cached` cached positions, and whether the span has a right neighbour. */
export interface StepRow extends PackedRow {
  cache: RowCache;
  cached: number;
  rightHalo: boolean;
}
