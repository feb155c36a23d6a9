/**
 * Builds step batches over buffers that live as long as the scheduler, so a row's cache is copied into
 * the batch once per refresh, not once per step. A row keeps its batch slot from step to step; when
 * rows leave (a refresh, the end of the row) the rows in the last slots move into the holes, so the
 * batch stays dense and only the moved rows are copied again.
 */
import type { CacheGraphs } from '../bundle/model-bundle';
import type { StepBatch } from '../runtime/forward-pass';
import type { RowCache, StepRow } from './row-cache';
import { allocatePlanes, placeInSlots, writeSpan } from './cache-slots';

export class StepBatchBuilder {
  /** per layer, [slots, heads, capacity, head_dim] */
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];
  /** what each slot holds now: a row's cache, at `capacity` positions */
  private owners: Array<RowCache | undefined> = [];
  private capacity = 0;
  private slotsAllocated = 0;
  /** row caches copied into the batch buffers since creation (for tests and stats) */
  copiedRows = 0;
  private readonly small = {
    ids: new Reusable(BigInt64Array),
    positions: new Reusable(BigInt64Array),
    queryMask: new Reusable(BigInt64Array),
    pastMask: new Reusable(BigInt64Array),
    halo: new Reusable(Float32Array),
  };

  constructor(private readonly g: CacheGraphs) {}

  /**
   * Orders `rows` into batch slots (keeping each row's previous slot when it can) and returns the
   * batch plus that order: output row i belongs to `order[i]`.
   */
  build<T extends StepRow>(rows: readonly T[]): { batch: StepBatch; order: T[] } {
    const g = this.g;
    const n = rows.length;
    // room for the longest cache; shrink only when the longest is under half of it (a restride copies every row)
    const longest = Math.max(1, ...rows.map((r) => r.cache.length));
    if (longest > this.capacity || longest < this.capacity / 2 || n > this.slotsAllocated)
      this.allocate(n, longest);
    const order = this.place(rows);
    const planeSize = g.heads * this.capacity * g.headDim;
    order.forEach((row, slot) => {
      if (this.owners[slot] === row.cache) return;
      this.owners[slot] = row.cache;
      this.copiedRows++;
      for (let l = 0; l < g.layers; l++) {
        for (const [src, dst] of [
          [row.cache.keys, this.keys[l]!],
          [row.cache.values, this.values[l]!],
        ] as const) {
          for (let h = 0; h < g.heads; h++) {
            const from = row.cache.offset + (l * g.heads + h) * row.cache.planeStride;
            const to = slot * planeSize + h * this.capacity * g.headDim;
            dst.set(src.subarray(from, from + row.cache.length * g.headDim), to);
          }
        }
      }
    });
    this.owners.length = Math.min(this.owners.length, n); // slots past the batch keep nothing alive
    return { batch: this.assemble(order), order };
  }

  private allocate(slots: number, capacity: number): void {
    const g = this.g;
    this.capacity = capacity;
    this.slotsAllocated = Math.max(slots, this.slotsAllocated);
    ({ keys: this.keys, values: this.values } = allocatePlanes(
      g.layers,
      this.slotsAllocated,
      g.heads * capacity * g.headDim,
    ));
    this.owners = [];
  }

  /** Rows keep their slot if it is still inside the batch; the others fill the free slots in order. */
  private place<T extends StepRow>(rows: readonly T[]): T[] {
    return placeInSlots(rows, (slot) => this.owners[slot], this.owners.length);
  }

  private assemble(order: readonly StepRow[]): StepBatch {
    const g = this.g;
    const n = order.length;
    const span = Math.max(...order.map((r) => r.to - r.from));
    const cached = this.capacity;
    const haloSize = g.layers * 2 * g.halo * g.dModel;
    // views over buffers kept across steps: no per-step allocation (every element is written below)
    const ids = this.small.ids.take(n * span);
    const positions = this.small.positions.take(n * span);
    const queryMask = this.small.queryMask.take(n * span);
    const pastMask = this.small.pastMask.take(n * cached);
    pastMask.fill(0n);
    const halo = this.small.halo.take(n * haloSize);
    order.forEach((row, r) => {
      writeSpan(row, r, span, { ids, positions, queryMask });
      // cached positions the row attends to: its first `cached` ones, minus the span it brings fresh
      for (let p = 0; p < row.cached; p++)
        pastMask[r * cached + p] = p < row.from || p >= row.to ? 1n : 0n;
      halo.set(row.cache.halo, r * haloSize);
      if (!row.rightHalo) {
        for (let l = 0; l < g.layers; l++) {
          const at = r * haloSize + (l * 2 * g.halo + g.halo) * g.dModel;
          halo.fill(0, at, at + g.halo * g.dModel);
        }
      }
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
      halo,
    };
  }
}

/** A typed array that grows as needed and hands out views of the length asked for. */
class Reusable<T extends BigInt64Array | Float32Array> {
  private buffer: T;

  constructor(private readonly make: new (length: number) => T) {
    this.buffer = new make(0);
  }

  take(length: number): T {
    if (this.buffer.length < length)
      this.buffer = new this.make(Math.max(length, 2 * this.buffer.length));
    return this.buffer.subarray(0, length) as T;
  }
}
