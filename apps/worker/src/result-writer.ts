import {
  FAILURE_REASONS,
  failureMessage,
  pgErrorCode,
  type BatchProgress,
  type ItemOutcome,
} from '@dllm/shared';

export interface ResultWriterOptions {
  /** flush when this many results wait */
  maxRows: number;
  /** flush at least this often while results wait (0: once the event loop's current turn is done) */
  flushMs: number;
  /** tries of one flush before its rows are written one by one (transient Postgres blips) */
  attempts: number;
  backoffMs: number;
  onClosed?: (progress: BatchProgress) => void;
  onRetry?: (error: Error, attempt: number) => void;
  /** a row Postgres refused even alone: it was stored as failed (unstorable_result) instead */
  onUnstorable?: (outcome: ItemOutcome, error: Error) => void;
}

type Persist = (outcomes: readonly ItemOutcome[]) => Promise<BatchProgress[]>;

interface Waiting {
  outcome: ItemOutcome;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * SQLSTATE classes that are about the connection or the server, not the rows: writing rows one
 * by one cannot help (08 connection, 53 resources, 57 operator intervention, 58 system).
 */
const SERVER_FAULT = /^(08|53|57|58)/;

/** A failure that rows, not the server, may be guilty of (a data error, a constraint, ...). */
function mayBeRowFault(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && !SERVER_FAULT.test(code);
}

/**
 * Batches finished rows into few, idempotent writes (BatchProgressRepository.finishItems): one
 * transaction per flush whatever the number of rows and batches in it. A replayed result (a chunk
 * retried after a lost lock) changes nothing there, so retrying a flush is always safe.
 *
 * One row Postgres cannot take must not fail the others: when a flush fails for a reason rows may
 * be guilty of, its rows are written one by one; a row refused even alone is stored as failed
 * (unstorable_result) with Postgres's message, and only its own waiter learns of it.
 */
export class ResultWriter {
  private buffer: Waiting[] = [];
  private timer: { cancel(): void } | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly persist: Persist,
    private readonly opts: ResultWriterOptions,
  ) {}

  /** Resolves once the outcome is committed in Postgres. */
  write(outcome: ItemOutcome): Promise<void> {
    return new Promise((resolve, reject) => {
      this.buffer.push({ outcome, resolve, reject });
      if (this.buffer.length >= this.opts.maxRows) void this.flush();
      else this.timer ??= this.schedule();
    });
  }

  /** Writes whatever waits now; resolves when every write so far is settled. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length) this.flushing = this.flushing.then(() => this.persistWithRetry(batch));
    return this.flushing;
  }

  private schedule(): { cancel(): void } {
    if (this.opts.flushMs === 0) {
      // results that land in the same turn still share a write; none waits a timer's tick
      const immediate = setImmediate(() => void this.flush());
      return { cancel: () => clearImmediate(immediate) };
    }
    const timeout = setTimeout(() => void this.flush(), this.opts.flushMs);
    return { cancel: () => clearTimeout(timeout) };
  }

  private async persistWithRetry(batch: Waiting[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.settle(batch, await this.persist(batch.map((w) => w.outcome)));
        return;
      } catch (err) {
        if (mayBeRowFault(err) && batch.length > 1) return this.persistOneByOne(batch);
        if (attempt >= this.opts.attempts) {
          if (mayBeRowFault(err)) return this.persistOneByOne(batch);
          for (const w of batch) w.reject(err as Error);
          return;
        }
        this.opts.onRetry?.(err as Error, attempt);
        await new Promise((r) => setTimeout(r, this.opts.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  /** Each row alone: the guilty one is stored as failed, the others as they were. */
  private async persistOneByOne(batch: Waiting[]): Promise<void> {
    for (const w of batch) {
      try {
        this.settle([w], await this.persist([w.outcome]));
      } catch (err) {
        if (!mayBeRowFault(err)) {
          w.reject(err as Error);
          continue;
        }
        this.opts.onUnstorable?.(w.outcome, err as Error);
        const { batchId, index, workerId } = w.outcome;
        const failed: ItemOutcome = {
          batchId,
          index,
          workerId,
          status: 'failed',
          failureReason: FAILURE_REASONS.unstorableResult,
          error: failureMessage(
            FAILURE_REASONS.unstorableResult,
            `Postgres refused its result: ${(err as Error).message}`,
          ),
        };
        try {
          this.settle([w], await this.persist([failed]));
        } catch (again) {
          w.reject(again as Error);
        }
      }
    }
  }

  private settle(batch: Waiting[], progress: BatchProgress[]): void {
    for (const p of progress) if (p.closed) this.opts.onClosed?.(p);
    for (const w of batch) w.resolve();
  }
}
