/**
 * Why an item failed, as stored in batch_items.failure_reason and prefixed to its error text.
 * An item fails alone for its own reason; none of these ever fails an innocent neighbour.
 */
export const FAILURE_REASONS = {
  /** the request cannot run as given (too long, bad parameters): the engine said so */
  invalidRequest: 'invalid_request',
  /** it crashed the engine or the worker each time it ran alone (ITEM_POISON_RUNS) */
  poison: 'poison',
  /** claimed ITEM_MAX_ATTEMPTS times without ending (workers kept dying or losing it) */
  attemptsExhausted: 'attempts_exhausted',
  /** its worker stopped and no worker finished it before the batch's deadline */
  noWorker: 'no_worker',
  /** a forward failed for this row alone while other rows of the same forward ran */
  forwardFailed: 'forward_failed',
  /** Postgres refused to store its result, even alone and escaped */
  unstorableResult: 'unstorable_result',
} as const;

export type FailureReason = (typeof FAILURE_REASONS)[keyof typeof FAILURE_REASONS];

/** "reason: detail", the text users see in `error`. */
export function failureMessage(reason: FailureReason, detail: string): string {
  return `${reason}: ${detail}`;
}
