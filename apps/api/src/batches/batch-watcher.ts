import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { BatchEntity, type Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { DataSource, In } from 'typeorm';
import { CONFIG, LOGGER } from '../common/core.module';
import { BatchEventReader } from '../events/batch-event-reader';

type Listener = (batch: BatchEntity | null) => void;

interface Watched {
  listeners: Set<Listener>;
  /** stops its event subscription (resolves once it exists) */
  unwatch: Promise<() => void>;
}

/**
 * Rereads the batches that progress streams watch when their events say they changed (an item
 * ended, the status moved): ONE query for every batch changed since the last reread, at most one
 * per SSE_POLL_MS, however many streams are open. An idle batch costs nothing. Each listener
 * hears every reread of its batch (the first right after it starts watching, so a batch that
 * changed before the watch began is read from Postgres); null when the batch is gone.
 */
@Injectable()
export class BatchWatcher implements OnApplicationShutdown {
  private readonly watched = new Map<string, Watched>();
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private lastRead = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: BatchEventReader,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Calls `listener` after every reread of batch `id`; returns the function that stops it. */
  watch(id: string, listener: Listener): () => void {
    let watched = this.watched.get(id);
    if (!watched) {
      const unwatch = this.events
        .watch(id, 'now', (event) => {
          if (event.type !== 'canvas') this.markChanged(id);
        })
        .then((stop) => {
          this.markChanged(id); // whatever happened before the subscription existed
          return stop;
        });
      watched = { listeners: new Set(), unwatch };
      this.watched.set(id, watched);
    } else {
      this.markChanged(id);
    }
    const { listeners } = watched;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size > 0 || this.watched.get(id) !== watched) return;
      this.watched.delete(id);
      void watched.unwatch.then((stop) => stop());
    };
  }

  /** streams open now (for metrics and tests) */
  get streams(): number {
    let n = 0;
    for (const w of this.watched.values()) n += w.listeners.size;
    return n;
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private markChanged(id: string): void {
    if (!this.watched.has(id)) return;
    this.changed.add(id);
    this.schedule();
  }

  /** A reread now, or once SSE_POLL_MS has passed since the last one; never two at once. */
  private schedule(): void {
    if (this.timer || this.reading || this.changed.size === 0) return;
    const wait = Math.max(0, this.lastRead + this.config.SSE_POLL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reading = this.reread().finally(() => {
        this.reading = undefined;
        this.schedule(); // changes that came during the read
      });
    }, wait);
  }

  private async reread(): Promise<void> {
    const ids = [...this.changed].filter((id) => this.watched.has(id));
    this.changed.clear();
    if (ids.length === 0) return;
    this.lastRead = Date.now();
    try {
      const rows = await this.dataSource.getRepository(BatchEntity).findBy({ id: In(ids) });
      const byId = new Map(rows.map((b) => [b.id, b]));
      for (const id of ids) {
        for (const listener of this.watched.get(id)?.listeners ?? []) {
          listener(byId.get(id) ?? null);
        }
      }
    } catch (error) {
      for (const id of ids) this.changed.add(id); // tried again after SSE_POLL_MS
      this.logger.warn(
        { err: (error as Error).message },
        'progress streams could not reread their batches',
      );
    }
  }
}
