/**
 * Where decoding blocks begin and end. Bidirectional models decode the canvas in blocks of
 * `length` counted from the canvas start; causal and block-causal graphs have their own blocks,
 * aligned to absolute positions (block = position // blockSize, tools/import/spec.py).
 */

/** The start of the graph block holding position `p` (blocks aligned to absolute positions). */
export function graphBlockStart(p: number, blockSize: number): number {
  return Math.floor(p / blockSize) * blockSize;
}

/** A row's canvas [start, end) and the blocks it is decoded in. */
export class CanvasBlocks {
  constructor(
    readonly start: number,
    readonly end: number,
    /** positions per block */
    readonly length: number,
    /** the graph's own blocks (aligned to absolute positions) rather than blocks from the canvas start */
    readonly aligned: boolean,
  ) {}

  /** How many blocks the canvas spans (counted from its start). */
  get count(): number {
    return Math.ceil((this.end - this.start) / this.length);
  }

  /** The end of the block that starts at `start`, never past the canvas. */
  endFrom(start: number): number {
    const end = this.aligned
      ? graphBlockStart(start, this.length) + this.length
      : start + this.length;
    return Math.min(end, this.end);
  }
}
