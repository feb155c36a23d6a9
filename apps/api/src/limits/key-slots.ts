import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONFIG, LOGGER } from '../common/core.module';
import { REDIS } from '../redis/redis.module';
import type { ConcurrencyKind } from './limit-concurrency.decorator';

// Slots of one API key and kind: a sorted set of slot ids scored by lease expiry (ms, Redis's own
// clock, so replicas' clocks need not agree). Lapsed leases are dropped before every count.
const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;
/** KEYS[1] set; ARGV: limit, lease ms, slot id -> 1 taken, 0 full */
const TAKE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;
/** KEYS[1] set; ARGV: lease ms, slot id (a lease that already lapsed is not revived) */
const RENEW = `${NOW}
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1`;
/** KEYS[1] set -> live slots */
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

/**
 * Per-process slots: the fallback while Redis is away (a limit still holds on each process,
 * rather than none).
 */
class LocalSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly limit: number) {}

  take(key: string): (() => void) | null {
    const n = this.held.get(key) ?? 0;
    if (n >= this.limit) return null;
    this.held.set(key, n + 1);
    return () => {
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }

  inUse(key: string): number {
    return this.held.get(key) ?? 0;
  }
}

/**
 * Slots of one kind per API key, shared by every API process through Redis: `limit` at once over
 * all replicas. A slot is a lease of CONCURRENCY_LEASE_MS that its process renews every third of
 * that while the request lives, so a crashed process's slots free themselves once they lapse.
 */
export class KeySlots {
  private readonly local: LocalSlots;
  /** slot id -> its Redis key, for renewal */
  private readonly held = new Map<string, string>();
  private readonly renewal: NodeJS.Timeout;
  /** names this process's slots */
  private readonly processId = randomUUID();
  private seq = 0;
  private warned = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly limit: number,
    private readonly leaseMs: number,
    private readonly warn: (message: string, detail: Record<string, unknown>) => void = () =>
      undefined,
  ) {
    this.local = new LocalSlots(limit);
    this.renewal = setInterval(() => void this.renew(), Math.max(500, Math.floor(leaseMs / 3)));
    this.renewal.unref();
  }

  /** A release function, or null when the key holds `limit` slots already (0 = no limit). */
  async take(key: string): Promise<(() => void) | null> {
    if (this.limit <= 0) return () => undefined;
    const setKey = this.setKey(key);
    const slot = `${this.processId}:${++this.seq}`;
    let taken: unknown;
    try {
      taken = await this.redis.eval(TAKE, 1, setKey, this.limit, this.leaseMs, slot);
    } catch (error) {
      this.warnOnce(error);
      return this.local.take(key);
    }
    if (taken !== 1) return null;
    this.held.set(slot, setKey);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(slot);
      // lost: the lease lapses by itself
      this.redis.zrem(setKey, slot).catch(() => undefined);
    };
  }

  /** Slots of `key` held now over every process (this process's own while Redis is away). */
  async inUse(key: string): Promise<number> {
    try {
      return Number(await this.redis.eval(COUNT, 1, this.setKey(key)));
    } catch {
      return this.local.inUse(key);
    }
  }

  /** Stops renewing: this process's slots lapse within the lease (shutdown, tests of a crash). */
  stop(): void {
    clearInterval(this.renewal);
  }

  private setKey(key: string): string {
    return `${this.prefix}:${key}`;
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [slot, setKey] of this.held) pipeline.eval(RENEW, 1, setKey, this.leaseMs, slot);
    await pipeline.exec().catch((error: unknown) => this.warnOnce(error));
  }

  private warnOnce(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.warn('concurrency slots counted per process: Redis unavailable', {
      err: (error as Error).message,
    });
  }
}

/** The concurrency limits of this API process, by kind, counted in Redis over all replicas. */
@Injectable()
export class ConcurrencySlots implements OnModuleDestroy {
  readonly byKind: Record<ConcurrencyKind, KeySlots>;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) config: Config,
    @Inject(LOGGER) logger: Logger,
  ) {
    const warn = (message: string, detail: Record<string, unknown>) => logger.warn(detail, message);
    const slots = (kind: ConcurrencyKind, limit: number) =>
      new KeySlots(
        redis,
        `${config.QUEUE_PREFIX}:slots:${kind}`,
        limit,
        config.CONCURRENCY_LEASE_MS,
        warn,
      );
    this.byKind = {
      uploads: slots('uploads', config.MAX_CONCURRENT_UPLOADS),
      streams: slots('streams', config.MAX_SSE_STREAMS),
      canvases: slots('canvases', config.MAX_CANVAS_STREAMS),
      completions: slots('completions', config.MAX_CONCURRENT_COMPLETIONS),
    };
  }

  onModuleDestroy(): void {
    for (const slots of Object.values(this.byKind)) slots.stop();
  }
}
