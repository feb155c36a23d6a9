/** What the step and exact batch builders share: plane buffers, slot placement, span slots. */
/** Key and value planes for `slots` rows of a batch: one Float32Array per layer, `slotSize` floats a row. */
export function allocatePlanes(
  layers: number,
  slots: number,
  slotSize: number,
): { keys: Float32Array[]; values: Float32Array[] } {
  const size = slots * slotSize;
  return {
    keys: Array.from({ length: layers }, () => new Float32Array(size)),
    values: Array.from({ length: layers }, () => new Float32Array(size)),
  };
}

/**
 * Row `r`'s span [from, to) into a batch's [rows, span] ids, positions and query mask; padding
 * slots (past `to`) get id 0 at the span's first position, masked out.
 */
export function writeSpan(
  row: { ids: Int32Array; from: number; to: number },
  r: number,
  span: number,
  out: { ids: BigInt64Array; positions: BigInt64Array; queryMask: BigInt64Array },
): void {
  for (let i = 0; i < span; i++) {
    const p = row.from + i;
    const real = p < row.to;
    out.ids[r * span + i] = BigInt(real ? row.ids[p]! : 0);
    out.positions[r * span + i] = BigInt(real ? p : row.from);
    out.queryMask[r * span + i] = real ? 1n : 0n;
  }
}

/**
 * The slot order of a batch: a row keeps the slot it held last call (`held(slot)` is the cache
 * there) if that slot is still inside the batch, so its cache need not be copied again; the other
 * rows fill the free slots in order. Output slot i belongs to the returned row i.
 */
export function placeInSlots<T extends { cache: C }, C>(
  rows: readonly T[],
  held: (slot: number) => C | undefined,
  slotsHeld: number,
): T[] {
  const n = rows.length;
  const order = new Array<T | undefined>(n);
  const rest: T[] = [];
  for (const row of rows) {
    let slot = -1;
    for (let s = 0; s < slotsHeld; s++)
      if (held(s) === row.cache) {
        slot = s;
        break;
      }
    if (slot >= 0 && slot < n && order[slot] === undefined) order[slot] = row;
    else rest.push(row);
  }
  for (let slot = 0; slot < n; slot++) if (order[slot] === undefined) order[slot] = rest.shift();
  return order as T[];
}
