import type { ForwardBatch, ForwardPass, ForwardResult } from '../runtime/forward-pass';
import { GenerationError } from '../sampler/row';

/** A forward failed for this row alone while others of the same batch ran: the row is at fault. */
export class RowForwardError extends GenerationError {
  constructor(message: string) {
    super(message);
    this.name = 'RowForwardError';
  }
}

/** Row r's slice of a forward: its own result and the row index in it. */
export type RowOutput = { result: ForwardResult; row: number } | { error: Error };

/**
 * After a batched forward failed: runs each row by itself, so one bad row fails alone and the
 * others go on with their own outputs (no step is lost). When every row fails alone too, the
 * fault is the runtime's, not a row's: null, and the caller fails them all with the original
 * error (retryable, not the rows' fault).
 */
export async function forwardRowsAlone(
  forward: ForwardPass,
  batch: ForwardBatch,
): Promise<RowOutput[] | null> {
  const { rows, length } = batch;
  const outputs: RowOutput[] = [];
  for (let r = 0; r < rows; r++) {
    try {
      const result = await forward.run({
        rows: 1,
        length,
        ids: batch.ids.slice(r * length, (r + 1) * length),
        attention: batch.attention.slice(r * length, (r + 1) * length),
      });
      outputs.push({ result, row: 0 });
    } catch (err) {
      outputs.push({
        error: new RowForwardError(`forward failed for this row alone: ${(err as Error).message}`),
      });
    }
  }
  return outputs.some((o) => 'result' in o) ? outputs : null;
}
