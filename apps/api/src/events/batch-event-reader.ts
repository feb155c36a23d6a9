import { setTimeout as sleep } from 'node:timers/promises';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  batchEventsKey,
  compareStreamIds,
  decodeEvent,
  endedBatchesKey,
  type BatchEnded,
  type BatchEvent,
  type Config,
} from '@dllm/shared';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONFIG, LOGGER } from '../common/core.module';
import { REDIS } from '../redis/redis.module';

/** Entries per stream and read: a burst drains over a few reads, memory stays flat. */
const ENTRIES_PER_READ = 1000;
/** Pause between tries to wake a read that Redis has not started blocking yet (see wake). */
const WAKE_RETRY_MS = 5;

export type BatchEventListener = (event: BatchEvent, id: string) => void;
export type BatchEndedListener = (batchId: string, ended: BatchEnded) => void;

interface Subscription {
  /** the last entry it was given (stream id) */
  cursor: string;
  listener: BatchEventListener;
}

/**
 * The API's one reader of the live event path (libs/shared BatchEventLog writes it): a single
 * blocking read (XREAD BLOCK, on a connection of its own) over the deployment's ended-batches
 * stream and the stream of every batch someone here watches, fanned out to the listeners. An
 * idle process costs one command per EVENTS_BLOCK_MS, however many streams are open; a new watch
 * wakes the read at once (CLIENT UNBLOCK) so it joins the next one.
 *
 * It only makes things fast: every consumer reads Postgres when it starts (a late client), and
 * the repair loop announces again what a Redis outage or flush lost.
 */
@Injectable()
export class BatchEventReader implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connection: Redis;
  private readonly watched = new Map<string, Set<Subscription>>();
  private readonly endedListeners = new Set<BatchEndedListener>();
  private readonly endedKey: string;
  private endedCursor: string | undefined;
  private clientId: number | undefined;
  /** counts reads: a wake is for the read in flight when it was asked */
  private read = 0;
  private blocking = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private warned = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.endedKey = endedBatchesKey(config.QUEUE_PREFIX);
    // A blocked read holds its connection: never share it. A command cut by a disconnect fails
    // (not resent) so the loop learns the connection's new client id.
    this.connection = new Redis(config.REDIS_URL, {
      maxRetriesPerRequest: null,
      autoResendUnfulfilledCommands: false,
      lazyConnect: true,
      connectionName: 'dllm-batch-events',
    });
    this.connection.on('error', () => undefined); // the loop reports failures
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.connection.disconnect();
    await this.loop;
  }

  /**
   * Hands `listener` every event of batch `batchId` after stream id `from` ('now': from the
   * stream's current end). Resolves once it is in the read; returns the function that stops it.
   */
  async watch(
    batchId: string,
    /** a stream id to read after, or 'now' (the stream's current end) */
    from: string,
    listener: BatchEventListener,
  ): Promise<() => void> {
    const cursor =
      from === 'now' ? await this.lastId(batchEventsKey(this.config.QUEUE_PREFIX, batchId)) : from;
    const subscription: Subscription = { cursor, listener };
    const subscriptions = this.watched.get(batchId) ?? new Set<Subscription>();
    const joined =
      subscriptions.size === 0 ||
      [...subscriptions].every((s) => compareStreamIds(s.cursor, cursor) > 0);
    subscriptions.add(subscription);
    this.watched.set(batchId, subscriptions);
    if (joined) this.wake();
    return () => {
      subscriptions.delete(subscription);
      if (subscriptions.size === 0 && this.watched.get(batchId) === subscriptions) {
        this.watched.delete(batchId);
      }
    };
  }

  /** Calls `listener` for every batch that ends from now on (webhooks, result files). */
  onEnded(listener: BatchEndedListener): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** Batches watched now (metrics, tests). */
  get watchedBatches(): number {
    return this.watched.size;
  }

  /** The id of a stream's last entry, '0-0' when it has none (or Redis cannot say). */
  private async lastId(key: string): Promise<string> {
    try {
      const [last] = await this.redis.xrevrange(key, '+', '-', 'COUNT', 1);
      return last?.[0] ?? '0-0';
    } catch {
      return '0-0';
    }
  }

  private async run(): Promise<void> {
    let backoffMs = 100;
    while (!this.stopped) {
      try {
        if (this.connection.status === 'wait') await this.connection.connect();
        this.clientId ??= await this.connection.client('ID');
        this.endedCursor ??=
          (await this.connection.xrevrange(this.endedKey, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
        const keys = [this.endedKey];
        const ids = [this.endedCursor];
        const batchOfKey = new Map<string, string>();
        for (const [batchId, subscriptions] of this.watched) {
          const key = batchEventsKey(this.config.QUEUE_PREFIX, batchId);
          batchOfKey.set(key, batchId);
          keys.push(key);
          ids.push(
            [...subscriptions]
              .map((s) => s.cursor)
              .reduce((a, b) => (compareStreamIds(a, b) <= 0 ? a : b)),
          );
        }
        this.read++;
        this.blocking = true;
        const reply = await this.connection
          .xread(
            'COUNT',
            ENTRIES_PER_READ,
            'BLOCK',
            this.config.EVENTS_BLOCK_MS,
            'STREAMS',
            ...keys,
            ...ids,
          )
          .finally(() => (this.blocking = false));
        for (const [key, entries] of reply ?? []) {
          if (key === this.endedKey) this.fanOutEnded(entries);
          else this.fanOut(batchOfKey.get(key), entries);
        }
        backoffMs = 100;
        this.warned = false;
      } catch (error) {
        if (this.stopped) break;
        this.clientId = undefined;
        if (!this.warned) {
          this.warned = true;
          this.logger.warn(
            { err: (error as Error).message },
            'batch events cannot be read (Redis); live streams wait, the repair loop catches up',
          );
        }
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  private fanOut(batchId: string | undefined, entries: [string, string[]][]): void {
    const subscriptions = batchId === undefined ? undefined : this.watched.get(batchId);
    if (!subscriptions) return;
    for (const [id, fields] of entries) {
      const decoded = safeDecode(fields);
      for (const subscription of subscriptions) {
        if (compareStreamIds(id, subscription.cursor) <= 0) continue;
        subscription.cursor = id;
        if (decoded) this.call(() => subscription.listener(decoded.event, id));
      }
    }
  }

  private fanOutEnded(entries: [string, string[]][]): void {
    for (const [id, fields] of entries) {
      this.endedCursor = id;
      const decoded = safeDecode(fields);
      if (decoded?.event.type !== 'batch-ended' || !decoded.batchId) continue;
      const { batchId, event } = decoded;
      for (const listener of this.endedListeners) this.call(() => listener(batchId, event.ended));
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'a batch event listener failed');
    }
  }

  /**
   * Ends the blocked read so the next one includes a new watch. CLIENT UNBLOCK finds nothing when
   * the read was sent but is not yet blocking in Redis (a loaded host): then it is tried again
   * until that read has ended, or a new watch could wait a whole EVENTS_BLOCK_MS.
   */
  private wake(): void {
    const read = this.read;
    void (async () => {
      while (this.blocking && this.read === read && !this.stopped) {
        if (this.clientId === undefined) return;
        const woken = await this.redis.client('UNBLOCK', this.clientId).catch(() => 0);
        if (woken === 1) return;
        await sleep(WAKE_RETRY_MS);
      }
    })();
  }
}

function safeDecode(fields: string[]): ReturnType<typeof decodeEvent> {
  try {
    return decodeEvent(fields);
  } catch {
    return null; // a malformed entry is skipped, not fatal
  }
}
