import type { CacheGraphs } from '../bundle/model-bundle';
import type { RowCache, StepRow } from './row-cache';
import { StepBatchBuilder } from './step-batch-builder';

// 2 layers x 1 head x head_dim 2; a row's keys hold its tag so a slot's content shows whose it is
const g: CacheGraphs = {
  refreshPath: '',
  stepPath: '',
  layers: 2,
  heads: 1,
  headDim: 2,
  dModel: 1,
  halo: 1,
  floatsPerPosition: 4,
};

function row(tag: number, length = 4): StepRow {
  const cache: RowCache = {
    keys: new Float32Array(g.layers * length * g.headDim).fill(tag),
    values: new Float32Array(g.layers * length * g.headDim).fill(-tag),
    offset: 0,
    planeStride: length * g.headDim,
    bytes: 0,
    halo: new Float32Array(g.layers * 2 * g.halo * g.dModel).fill(tag),
    length,
    blockStart: 1,
    stepsSinceRefresh: 0,
  };
  return {
    ids: Int32Array.from({ length }, (_, i) => tag * 10 + i),
    from: 1,
    to: 3,
    cache,
    cached: length,
    rightHalo: true,
  };
}

const slotTag = (keys: Float32Array, slot: number, capacity: number) =>
  keys[slot * capacity * g.headDim]!;

describe('StepBatchBuilder', () => {
  it('packs spans, masks and each row cache into its slot, per layer', () => {
    const b = new StepBatchBuilder(g);
    const { batch, order } = b.build([row(1), row(2, 3)]);
    expect(order.map((r) => r.ids[0])).toEqual([10, 20]);
    expect(batch).toMatchObject({ rows: 2, span: 2, cached: 4 });
    expect(Array.from(batch.ids, Number)).toEqual([11, 12, 21, 22]);
    expect(Array.from(batch.positions, Number)).toEqual([1, 2, 1, 2]);
    // the span's own positions are masked in the cache; the shorter row's padding too
    expect(Array.from(batch.pastMask, Number)).toEqual([1, 0, 0, 1, 1, 0, 0, 0]);
    expect(batch.pastKeys).toHaveLength(2);
    expect([slotTag(batch.pastKeys[1]!, 0, 4), slotTag(batch.pastKeys[1]!, 1, 4)]).toEqual([1, 2]);
    expect(slotTag(batch.pastValues[0]!, 1, 4)).toBe(-2);
  });

  it('copies a row cache once while the row keeps stepping, and fills a hole with the last row', () => {
    const b = new StepBatchBuilder(g);
    const [r1, r2, r3] = [row(1), row(2), row(3)];
    b.build([r1, r2, r3]);
    b.build([r1, r2, r3]);
    expect(b.copiedRows).toBe(3);
    // r1 leaves (say, to refresh): r3 moves into its slot, r2 stays
    const { order, batch } = b.build([r2, r3]);
    expect(order).toEqual([r3, r2]);
    expect(b.copiedRows).toBe(4);
    expect([slotTag(batch.pastKeys[0]!, 0, 4), slotTag(batch.pastKeys[0]!, 1, 4)]).toEqual([3, 2]);
    // r1 comes back with a new cache: one more copy, into the next slot
    const fresh = row(7);
    const again = b.build([fresh, r2, r3]);
    expect(again.order).toEqual([r3, r2, fresh]);
    expect(b.copiedRows).toBe(5);
    expect(slotTag(again.batch.pastKeys[0]!, 2, 4)).toBe(7);
  });

  it("reads a row's planes in place from a refresh output shared with other rows", () => {
    // a refresh of 2 rows padded to 6 positions: [rows, layers, heads, 6, head_dim]; row 1 is 4 long
    const padded = 6;
    const shared = Float32Array.from({ length: 2 * g.layers * padded * g.headDim }, (_, i) => i);
    const r = row(1);
    r.cache.keys = shared;
    r.cache.values = shared;
    r.cache.offset = 1 * g.layers * padded * g.headDim;
    r.cache.planeStride = padded * g.headDim;
    const { batch } = new StepBatchBuilder(g).build([r]);
    // layer 1 of row 1: its plane starts at offset + 1 * planeStride, 4 positions of head_dim 2
    const start = r.cache.offset + r.cache.planeStride;
    expect(Array.from(batch.pastKeys[1]!)).toEqual(
      Array.from({ length: 4 * g.headDim }, (_, i) => start + i),
    );
  });

  it('restrides every row when a longer cache arrives', () => {
    const b = new StepBatchBuilder(g);
    b.build([row(1), row(2)]);
    const { batch } = b.build([row(1), row(2), row(3, 8)]);
    expect(batch.cached).toBe(8);
    expect([0, 1, 2].map((s) => slotTag(batch.pastKeys[0]!, s, 8))).toEqual([1, 2, 3]);
  });
});
