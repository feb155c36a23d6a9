import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ApiError } from '../common/api-error';
import { CONFIG, LOGGER } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { REDIS } from '../redis/redis.module';

const REVOKED = new ApiError(401, 'key_revoked', 'this API key was revoked');

interface Open {
  req: HttpRequest;
  res: HttpResponse;
  revoked: AbortController;
}

/**
 * Ends the long-lived requests (progress and canvas streams, sync completions) of an API key the
 * moment it is revoked, in every API process: the revoking process ends its own at once and
 * tells the others on a Redis channel. A stream gets a last `error` event, a request still
 * waiting a 401; the route learns of it through `req.keyRevoked` and stops its work.
 * Revoked while Redis is away, the other processes' streams run on to their natural end.
 */
@Injectable()
export class KeyRevocations implements OnModuleInit, OnApplicationShutdown {
  private readonly open = new Map<string, Set<Open>>();
  private readonly listeners = new Set<(keyId: string) => void>();
  private subscriber: Redis | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private get channel(): string {
    return `${this.config.QUEUE_PREFIX}:api-key-revoked`;
  }

  onModuleInit(): void {
    // its own connection (a subscribed one can do nothing else), reconnecting and resubscribing
    this.subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined); // the main client reports Redis outages
    this.subscriber.on('message', (_channel: string, keyId: string) => this.endAll(keyId));
    this.subscriber
      .subscribe(this.channel)
      .catch((err: Error) =>
        this.logger.warn({ err: err.message }, 'key revocation channel unavailable'),
      );
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Follows a long-lived request of `keyId` until its response closes. */
  track(keyId: string, req: HttpRequest, res: HttpResponse): void {
    const entry: Open = { req, res, revoked: new AbortController() };
    req.keyRevoked = entry.revoked.signal;
    const set = this.open.get(keyId) ?? new Set<Open>();
    set.add(entry);
    this.open.set(keyId, set);
    res.once('close', () => {
      set.delete(entry);
      if (set.size === 0 && this.open.get(keyId) === set) this.open.delete(keyId);
    });
  }

  /** Calls `listener` with every key revoked here or announced by another process. */
  onRevoked(listener: (keyId: string) => void): void {
    this.listeners.add(listener);
  }

  /** Requests of `keyId` open in this process (tests, metrics). */
  openFor(keyId: string): number {
    return this.open.get(keyId)?.size ?? 0;
  }

  /** `keyId` was revoked: end its requests here, and tell the other processes. */
  async revoked(keyId: string): Promise<void> {
    this.endAll(keyId);
    await this.redis.publish(this.channel, keyId).catch((err: Error) => {
      this.logger.warn(
        { err: err.message, api_key_id: keyId },
        'revocation not broadcast (Redis unavailable): other API processes end its streams on their own',
      );
    });
  }

  private endAll(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
    const set = this.open.get(keyId);
    if (!set) return;
    this.open.delete(keyId);
    for (const { req, res, revoked } of set) {
      revoked.abort();
      req.log?.info({ api_key_id: keyId }, 'request ended: its API key was revoked');
      if (res.writableEnded || res.destroyed) continue;
      const body = JSON.stringify(REVOKED.toBody());
      if (!res.headersSent) {
        res.statusCode = 401;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Connection', 'close');
        res.end(body);
      } else if (/event-stream/.test(String(res.getHeader('Content-Type') ?? ''))) {
        res.end(`event: error\ndata: ${body}\n\n`);
      } else res.destroy();
    }
  }
}
