import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Config } from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Observable } from 'rxjs';
import { ApiError } from '../common/api-error';
import { CONFIG, LOGGER } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { REDIS } from '../redis/redis.module';
import { ConcurrencySlots } from './key-slots';
import { CONCURRENCY, type ConcurrencyKind } from './limit-concurrency.decorator';

/**
 * Limits per API key, after authentication (interceptors run after guards), answered with
 * 429 + Retry-After and a message naming the limit:
 * - RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_S, counted in Redis so API replicas share it; while
 *   Redis is away each process counts in memory instead (it never fails requests open-endedly);
 * - MAX_CONCURRENT_UPLOADS batch submissions, MAX_SSE_STREAMS progress streams, MAX_CANVAS_STREAMS
 *   canvas streams and MAX_CONCURRENT_COMPLETIONS sync completions at once, over all API
 *   processes (KeySlots: leases in Redis), released when the response closes.
 * Public and admin routes carry no tenant key and are not limited here.
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
  private readonly rate: RateLimiterRedis | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly slots: ConcurrencySlots,
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const window = { points: config.RATE_LIMIT_REQUESTS, duration: config.RATE_LIMIT_WINDOW_S };
    this.rate =
      config.RATE_LIMIT_REQUESTS > 0
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `${config.QUEUE_PREFIX}:ratelimit`,
            ...window,
            insuranceLimiter: new RateLimiterMemory(window),
          })
        : null;
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const res = context.switchToHttp().getResponse<HttpResponse>();
    const key = req.principal?.apiKeyId;
    if (!key) return next.handle();
    await this.consume(key);
    const kind = this.reflector.get<ConcurrencyKind | undefined>(CONCURRENCY, context.getHandler());
    if (kind) {
      const slots = this.slots.byKind[kind];
      const release = await slots.take(key);
      if (!release) {
        const [message, retryAfterS] = FULL[kind](slots.limit);
        throw tooMany(message, retryAfterS);
      }
      res.once('close', release);
      if (res.destroyed) release(); // the client left while the slot was being taken
    }
    return next.handle();
  }

  private async consume(key: string): Promise<void> {
    if (!this.rate) return;
    try {
      await this.rate.consume(key);
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) {
        throw tooMany(
          `this API key made more than ${this.config.RATE_LIMIT_REQUESTS} requests in ` +
            `${this.config.RATE_LIMIT_WINDOW_S} s (RATE_LIMIT_REQUESTS); retry later`,
          Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)),
        );
      }
      // not a verdict but a failure of both stores: let the request through, and say so
      this.logger.warn({ err: (outcome as Error).message }, 'rate limiter unavailable');
    }
  }
}

/** What a caller whose slots of a kind are all taken is told, and when to retry (s). */
const FULL: Record<ConcurrencyKind, (limit: number) => [string, number]> = {
  uploads: (n) => [
    `this API key already has ${n} batch submission(s) in progress (MAX_CONCURRENT_UPLOADS); wait for one to finish`,
    1,
  ],
  streams: (n) => [
    `this API key already has ${n} progress stream(s) open (MAX_SSE_STREAMS); close one or poll GET /v1/batches/:id`,
    5,
  ],
  canvases: (n) => [
    `this API key already has ${n} canvas stream(s) open (MAX_CANVAS_STREAMS); close one first`,
    5,
  ],
  completions: (n) => [
    `this API key already has ${n} sync completion(s) waiting (MAX_CONCURRENT_COMPLETIONS); wait for one, or submit a batch`,
    1,
  ],
};

function tooMany(message: string, retryAfterS: number): ApiError {
  const error = new ApiError(429, 'rate_limited', message, undefined, {
    retry_after_s: retryAfterS,
  });
  error.headers['Retry-After'] = String(retryAfterS);
  return error;
}
