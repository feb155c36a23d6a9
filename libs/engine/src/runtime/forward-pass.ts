/** One forward over a padded batch: what the scheduler asks of a runtime. */
export interface ForwardBatch {
  rows: number;
  length: number;
  /** [rows, length] token ids, right-padded */
  ids: BigInt64Array;
  /** [rows, length] 1 = real token, 0 = padding */
  attention: BigInt64Array;
}

/**
 * Either the reduced outputs (our bundles) or full logits (generic graphs), for `length` consecutive
 * positions of each row: the whole sequence (full graph) or a span of it (refresh, step).
 */
export interface ForwardResult {
  rows: number;
  length: number;
  /** [rows, length, k] */
  topIds?: BigInt64Array;
  /** [rows, length, k] */
  topProbs?: Float32Array;
  /** [rows, length] */
  entropy?: Float32Array;
  k: number;
  /** [rows, length, vocab] (generic graphs only) */
  logits?: Float32Array;
  vocab: number;
}

/** Cached decoding, first call of a block: the whole sequence in, a head span and the cache out. */
export interface RefreshBatch extends ForwardBatch {
  /** positions per row whose head is wanted */
  headLength: number;
  /** [rows, headLength] absolute positions */
  headPositions: BigInt64Array;
  /** [rows, 2 * halo] positions whose convolution input is returned (in range; the caller zeroes any it does not want) */
  haloPositions: BigInt64Array;
}

export interface RefreshResult {
  /** the head at headPositions: length = headLength */
  head: ForwardResult;
  /** [rows, layers, heads, length, head_dim], keys after the rotary embedding */
  keys: Float32Array;
  /** [rows, layers, heads, length, head_dim] */
  values: Float32Array;
  /** [rows, layers, 2 * halo, d_model] */
  halo: Float32Array;
}

/** A span of positions against a past of cached keys/values: what a step and a decode call share. */
export interface SpanBatch {
  rows: number;
  /** span slots per row (padded) */
  span: number;
  /** [rows, span] token ids of the span */
  ids: BigInt64Array;
  /** [rows, span] absolute positions (RoPE and the attention topology read them) */
  positions: BigInt64Array;
  /** [rows, span] 1 = real span slot, 0 = right padding */
  queryMask: BigInt64Array;
  /** past positions per row (padded); decode: at least 1 (a masked dummy when there is no past) */
  cached: number;
  /** per layer, [rows, heads, cached, head_dim], keys after the rotary embedding */
  pastKeys: Float32Array[];
  pastValues: Float32Array[];
  /** [rows, cached] 1 = attend to this past position */
  pastMask: BigInt64Array;
}

/** Cached decoding, later calls of a block (the step graph): a span against the row's refresh cache. */
export interface StepBatch extends SpanBatch {
  /** [rows, layers, 2 * halo, d_model]: convolution inputs just left, then just right, of the span */
  halo: Float32Array;
}

/**
 * The decoder graph's own call (format-3 bundles, tools/import/spec.py): a span of positions against
 * a past, the reduced head at chosen span slots, and optionally the span's own keys/values so the
 * caller can append them to an exact cache (causal and block-causal models).
 */
export interface DecodeBatch extends SpanBatch {
  /** head slots per row (padded) */
  headLength: number;
  /** [rows, headLength] span SLOTS (0..span-1) whose reduced head is wanted */
  headSlots: BigInt64Array;
  /** return the span's keys/values (present_keys/present_values) */
  presents: boolean;
}

export interface DecodeResult {
  /** the head at headSlots: length = headLength */
  head: ForwardResult;
  /** [rows, layers, heads, span, head_dim] when asked for */
  presentKeys?: Float32Array;
  presentValues?: Float32Array;
}

export interface ForwardPass {
  /** the execution provider that actually runs the graph */
  readonly provider: string;
  run(batch: ForwardBatch): Promise<ForwardResult>;
  /** present when the bundle has cache graphs */
  refresh?(batch: RefreshBatch): Promise<RefreshResult>;
  step?(batch: StepBatch): Promise<ForwardResult>;
  /** present for a decoder-graph bundle (format 3): spans against an exact, appended cache */
  decode?(batch: DecodeBatch): Promise<DecodeResult>;
  release(): Promise<void>;
}
