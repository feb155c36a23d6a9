/** One forward over a padded batch: what the scheduler asks of a runtime. */
export interface ForwardBatch {
  rows: number;
  length: number;
  /** [rows, length] token ids, right-padded */
  ids: BigInt64Array;
  /** [rows, length] 1 = real token, 0 = padding */
  attention: BigInt64Array;
}

/** Either the reduced outputs (our bundles) or full logits (generic graphs). */
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

export interface ForwardPass {
  /** the execution provider that actually runs the graph */
  readonly provider: string;
  run(batch: ForwardBatch): Promise<ForwardResult>;
  release(): Promise<void>;
}
