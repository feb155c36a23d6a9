import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { BatchEntity, type Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { DataSource, In } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';

type Listener = (batch: BatchEntity | null) => void;

/**
 * Re-reads the batches that progress streams watch: ONE query per SSE_POLL_MS for all of them,
 * however many streams are open (a query per stream per poll would take the pool). Each listener
 * hears every read of its batch; null when the batch is gone.
 */
@Injectable()
export class BatchWatcher implements OnApplicationShutdown {
  private readonly watched = new Map<string, Set<Listener>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Calls `listener` after every read of batch `id`; returns the function that stops it. */
  watch(id: string, listener: Listener): () => void {
    const listeners = this.watched.get(id) ?? new Set<Listener>();
    listeners.add(listener);
    this.watched.set(id, listeners);
    this.timer ??= setInterval(() => void this.poll(), this.config.SSE_POLL_MS);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.watched.delete(id);
      if (this.watched.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** streams open now (for metrics and tests) */
  get streams(): number {
    let n = 0;
    for (const l of this.watched.values()) n += l.size;
    return n;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    // a slow read (Postgres under load) is not stacked on by the next tick
    if (this.polling || this.watched.size === 0) return;
    this.polling = true;
    try {
      const ids = [...this.watched.keys()];
      const rows = await this.dataSource.getRepository(BatchEntity).findBy({ id: In(ids) });
      const byId = new Map(rows.map((b) => [b.id, b]));
      for (const id of ids) {
        for (const listener of this.watched.get(id) ?? []) listener(byId.get(id) ?? null);
      }
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message },
        'progress streams could not reread their batches',
      );
    } finally {
      this.polling = false;
    }
  }
}
