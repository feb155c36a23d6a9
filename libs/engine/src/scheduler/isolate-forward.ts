import { RowForwardError } from '../errors';

export { RowForwardError } from '../errors';

/**
 * After a forward over several rows failed: runs each row by itself (`run` with one row: its own
 * forward, then its step, so no step is lost), and fails only the rows that fail alone, with a
 * RowForwardError. When every row fails alone too, the fault is the runtime's, not a row's: they
 * all fail with the original (retryable) error.
 */
export async function retryRowsAlone<Row>(
  rows: readonly Row[],
  original: Error,
  run: (rows: Row[]) => Promise<void>,
  fail: (row: Row, error: Error) => void,
): Promise<void> {
  const failures: Array<[Row, Error]> = [];
  if (rows.length > 1) {
    for (const row of rows) {
      try {
        await run([row]);
      } catch (err) {
        failures.push([row, err as Error]);
      }
    }
  }
  if (rows.length < 2 || failures.length === rows.length) {
    for (const row of rows) fail(row, original);
    return;
  }
  for (const [row, err] of failures)
    fail(row, new RowForwardError(`forward failed for this row alone: ${err.message}`));
}
