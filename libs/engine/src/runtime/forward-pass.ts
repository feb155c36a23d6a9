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

/** Cached decoding, later calls of a block: a span of positions against cached keys/values. */
export interface StepBatch {
  rows: number;
  /** span positions per row (padded) */
  span: number;
  /** [rows, span] token ids of the span */
  ids: BigInt64Array;
  /** [rows, span] their absolute positions */
  positions: BigInt64Array;
  /** [rows, span] 1 = real span position, 0 = padding (real ones first) */
  queryMask: BigInt64Array;
  /** cached positions per row (padded) */
  cached: number;
  /** per layer, [rows, heads, cached, head_dim] */
  pastKeys: Float32Array[];
  pastValues: Float32Array[];
  /** [rows, cached] 1 = attend to this cached position */
  pastMask: BigInt64Array;
  /** [rows, layers, 2 * halo, d_model]: convolution inputs just left, then just right, of the span */
  halo: Float32Array;
}

export interface ForwardPass {
  /** the execution provider that actually runs the graph */
  readonly provider: string;
  run(batch: ForwardBatch): Promise<ForwardResult>;
  /** present when the bundle has cache graphs */
  refresh?(batch: RefreshBatch): Promise<RefreshResult>;
  step?(batch: StepBatch): Promise<ForwardResult>;
  release(): Promise<void>;
}
