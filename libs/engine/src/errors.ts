/**
 * The engine's errors, as named classes: callers (the worker's chunk processor, health probes)
 * decide by class what a failure means for the row, the chunk and the process. Errors from the
 * inference thread cross as (name, message) and are rebuilt here as the class they had there.
 */

/** A request the engine cannot run as given (too long, empty...): the row is invalid, retrying cannot help. */
export class GenerationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationError';
  }
}

/** A forward failed for this row alone while others of the same batch ran: the row is at fault. */
export class RowForwardError extends GenerationError {
  constructor(message: string) {
    super(message);
    this.name = 'RowForwardError';
  }
}

/** The inference thread died while the row was in it; the row may be retried. */
export class EngineCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineCrashedError';
  }
}

/** The engine is closed, or gave up after repeated thread deaths: nothing more runs on it. */
export class EngineStoppedError extends Error {
  constructor(readonly state: 'closed' | 'failed') {
    super(`engine is ${state}`);
    this.name = 'EngineStoppedError';
  }
}

/** The inference thread did not answer a query in time (it may be stuck in a long forward). */
export class EngineTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`engine thread did not answer within ${timeoutMs} ms`);
    this.name = 'EngineTimeoutError';
  }
}

/** An error from the thread as the class it had there (the row's fault, or a plain Error). */
export function errorFromThread(name: string, message: string): Error {
  if (name === 'RowForwardError') return new RowForwardError(message);
  if (name === 'GenerationError') return new GenerationError(message);
  return new Error(message);
}
