import type {
  DecodeBatch,
  DecodeResult,
  ForwardBatch,
  ForwardPass,
  ForwardResult,
  RefreshBatch,
  RefreshResult,
  StepBatch,
} from './forward-pass';

/** The cached state's shape: what a dummy past and the presents are made of. */
export interface DecoderShape {
  layers: number;
  heads: number;
  headDim: number;
}

const slots = (rows: number, length: number): BigInt64Array => {
  const out = new BigInt64Array(rows * length);
  for (let r = 0; r < rows; r++) for (let i = 0; i < length; i++) out[r * length + i] = BigInt(i);
  return out;
};

/**
 * The three calls the scheduler makes of a separate-graph bundle (full, refresh, step), played by the
 * ONE decoder graph of a format-3 bundle (tools/import/spec.py), so a worker holds one copy of the
 * weights: full = the whole sequence as the span, a masked dummy past of one position, the head at
 * every slot; refresh = the same with the head over the block and the presents as the cache; step =
 * the span against the cache, head over the span. The halo is 0 (nothing to pass). Subclasses
 * supply `decode` (onnxruntime, or a fake model in tests).
 */
export abstract class DecoderForward implements ForwardPass {
  abstract readonly provider: string;
  private dummy?: { rows: number; keys: Float32Array; mask: BigInt64Array };

  constructor(protected readonly shape: DecoderShape) {}

  abstract decode(batch: DecodeBatch): Promise<DecodeResult>;
  abstract release(): Promise<void>;

  /** A past of one masked position per row (the graph needs Lc >= 1); reused, it is never written. */
  protected dummyPast(rows: number): { keys: Float32Array; mask: BigInt64Array } {
    if (!this.dummy || this.dummy.rows < rows) {
      this.dummy = {
        rows,
        keys: new Float32Array(rows * this.shape.heads * this.shape.headDim),
        mask: new BigInt64Array(rows),
      };
    }
    const used = rows * this.shape.heads * this.shape.headDim;
    return { keys: this.dummy.keys.subarray(0, used), mask: this.dummy.mask.subarray(0, rows) };
  }

  /** The whole sequence as the span, against no past. */
  private wholeSequence(
    b: ForwardBatch,
    headLength: number,
    headSlots: BigInt64Array,
    presents: boolean,
  ): DecodeBatch {
    const past = this.dummyPast(b.rows);
    const keys = Array.from({ length: this.shape.layers }, () => past.keys);
    return {
      rows: b.rows,
      span: b.length,
      ids: b.ids,
      positions: slots(b.rows, b.length),
      queryMask: b.attention,
      cached: 1,
      pastKeys: keys,
      pastValues: keys,
      pastMask: past.mask,
      headLength,
      headSlots,
      presents,
    };
  }

  async run(b: ForwardBatch): Promise<ForwardResult> {
    return (await this.decode(this.wholeSequence(b, b.length, slots(b.rows, b.length), false)))
      .head;
  }

  async refresh(b: RefreshBatch): Promise<RefreshResult> {
    // the span starts at position 0, so absolute head positions are span slots
    const out = await this.decode(this.wholeSequence(b, b.headLength, b.headPositions, true));
    return {
      head: out.head,
      keys: out.presentKeys!,
      values: out.presentValues!,
      halo: new Float32Array(0),
    };
  }

  async step(b: StepBatch): Promise<ForwardResult> {
    const out = await this.decode({
      rows: b.rows,
      span: b.span,
      ids: b.ids,
      positions: b.positions,
      queryMask: b.queryMask,
      cached: b.cached,
      pastKeys: b.pastKeys,
      pastValues: b.pastValues,
      pastMask: b.pastMask,
      headLength: b.span,
      headSlots: slots(b.rows, b.span),
      presents: false,
    });
    return out.head;
  }
}
