import type { BatchProgress, ItemOutcome } from '@dllm/shared';

export interface ResultWriterOptions {
  /** flush when this many results wait */
  maxRows: number;
  /** flush at least this often while results wait */
  flushMs: number;
  /** tries of one flush before its callers get the error (transient Postgres blips) */
  attempts: number;
  backoffMs: number;
  onClosed?: (progress: BatchProgress) => void;
  onRetry?: (error: Error, attempt: number) => void;
}

type Persist = (outcomes: readonly ItemOutcome[]) => Promise<BatchProgress[]>;

interface Waiting {
  outcome: ItemOutcome;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Batches finished rows into few, idempotent writes (BatchProgressRepository.finishItems): one
 * transaction per flush whatever the number of rows and batches in it. A replayed result (a chunk
 * retried after a lost lock) changes nothing there, so retrying a flush is always safe.
 */
export class ResultWriter {
  private buffer: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
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
      else this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs);
    });
  }

  /** Writes whatever waits now; resolves when every write so far is settled. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length) this.flushing = this.flushing.then(() => this.persistWithRetry(batch));
    return this.flushing;
  }

  private async persistWithRetry(batch: Waiting[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const progress = await this.persist(batch.map((w) => w.outcome));
        for (const p of progress) if (p.closed) this.opts.onClosed?.(p);
        for (const w of batch) w.resolve();
        return;
      } catch (err) {
        if (attempt >= this.opts.attempts) {
          for (const w of batch) w.reject(err as Error);
          return;
        }
        this.opts.onRetry?.(err as Error, attempt);
        await new Promise((r) => setTimeout(r, this.opts.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }
}
