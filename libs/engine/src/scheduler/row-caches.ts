/**
 * The one owner of the scheduler's block caches: each active row's refresh cache (row-cache.ts,
 * bidirectional models) or exact cache (exact-cache.ts, causal and block-causal ones), the bytes
 * they hold, and the batch builders that copy them into step and decode batches. A row's cache lives
 * from the forward that made it to the row's end (`drop`); rows only see what they plan by
 * (`stateOf`).
 */
import type { CacheGraphs } from '../bundle/model-bundle';
import type { DecodeBatch, DecodeResult, RefreshResult, StepBatch } from '../runtime/forward-pass';
import type { ExactPlan } from '../sampler/exact-plan';
import type { Row, RowCacheState } from '../sampler/row';
import {
  appendPresents,
  ExactBatchBuilder,
  exactCacheBytes,
  newExactCache,
  type ExactCache,
} from './exact-cache';
import { rowCacheBytes, takeCache, type PackedRow, type RowCache } from './row-cache';
import { StepBatchBuilder } from './step-batch-builder';

/** A row's step forward: its span [from, to), its first `cached` cached positions, a right neighbour or not. */
export interface StepSpan {
  from: number;
  to: number;
  cached: number;
  rightHalo: boolean;
}

const NO_CACHE: RowCacheState = { exactLength: 0 };

export class RowCaches {
  private readonly refreshed = new Map<Row, RowCache>();
  private readonly exact = new Map<Row, ExactCache>();
  /** step batches reuse their buffers, and each row's slot, across steps */
  private stepBatches?: StepBatchBuilder;
  private exactBatches?: ExactBatchBuilder;

  /** `bytes.cacheBytes`: kept equal to the bytes of cached keys/values/halo held now */
  constructor(private readonly bytes: { cacheBytes: number }) {}

  /** row caches copied into step-call batch slots so far (a row new to its slot) */
  get stepCacheCopies(): number {
    return this.stepBatches?.copiedRows ?? 0;
  }

  /** What the row plans its next forward by. */
  stateOf(row: Row): RowCacheState {
    const c = this.refreshed.get(row);
    const e = this.exact.get(row);
    if (!c && !e) return NO_CACHE;
    return {
      refresh: c && { blockStart: c.blockStart, stepsSinceRefresh: c.stepsSinceRefresh },
      exactLength: e?.length ?? 0,
    };
  }

  /** The row took a step (whatever its graph): its refresh cache is one step older. */
  stepped(row: Row): void {
    const c = this.refreshed.get(row);
    if (c) c.stepsSinceRefresh++;
  }

  /** The row ended (or failed): its caches go. */
  drop(row: Row): void {
    const c = this.refreshed.get(row);
    if (c) this.bytes.cacheBytes -= rowCacheBytes(c);
    const e = this.exact.get(row);
    if (e) this.bytes.cacheBytes -= exactCacheBytes(e);
    this.refreshed.delete(row);
    this.exact.delete(row);
  }

  /** Each row's part of a refresh's outputs (`packed[r]`: row r's sequence and head span) replaces its cache. */
  takeRefresh(
    rows: readonly Row[],
    res: RefreshResult,
    paddedLength: number,
    packed: readonly PackedRow[],
    g: CacheGraphs,
  ): void {
    rows.forEach((row, r) => {
      this.drop(row);
      const cache = takeCache(res, r, paddedLength, packed[r]!, g);
      this.refreshed.set(row, cache);
      this.bytes.cacheBytes += rowCacheBytes(cache);
    });
  }

  /** The step batch for `rows` (each with its refresh cache) and its order: output row i belongs to `order[i]`. */
  stepBatch<T extends { row: Row; span: StepSpan }>(
    rows: readonly T[],
    g: CacheGraphs,
  ): { batch: StepBatch; order: T[] } {
    this.stepBatches ??= new StepBatchBuilder(g);
    const items = rows.map((r) => {
      const cache = this.refreshed.get(r.row);
      if (!cache) throw new Error('stepBatch: a row without its refresh cache');
      return { ...r.span, ids: r.row.ids, cache, item: r };
    });
    const { batch, order } = this.stepBatches.build(items);
    return { batch, order: order.map((o) => o.item) };
  }

  /**
   * One exact-cache forward for `rows`: allocates a row's cache at its full length on its first
   * exact forward, builds the batch, runs it, appends each row's final positions. Returns the
   * output, the order of its rows and the positions it carried.
   */
  async runExact<T extends { row: Row; plan: ExactPlan }>(
    rows: readonly T[],
    decode: (b: DecodeBatch) => Promise<DecodeResult>,
    g: CacheGraphs,
  ): Promise<{ out: DecodeResult; order: T[]; tokens: number }> {
    this.exactBatches ??= new ExactBatchBuilder(g);
    const items = rows.map((r) => {
      let cache = this.exact.get(r.row);
      if (!cache) {
        cache = newExactCache(r.row.ids.length, g);
        this.exact.set(r.row, cache);
        this.bytes.cacheBytes += exactCacheBytes(cache);
      }
      return { ...r.plan, ids: r.row.ids, cache, item: r };
    });
    const { batch, order } = this.exactBatches.build(items);
    const out = await decode(batch);
    order.forEach((o, i) =>
      appendPresents(
        o.cache,
        out,
        i,
        batch.span,
        o.appendFrom - o.from,
        o.appendTo - o.appendFrom,
        g,
      ),
    );
    return { out, order: order.map((o) => o.item), tokens: batch.rows * batch.span };
  }
}
