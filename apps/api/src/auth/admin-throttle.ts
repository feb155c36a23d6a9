import { Inject, Injectable } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../common/api-error';
import { CONFIG } from '../common/core.module';

/**
 * Wrong admin keys per client address (per API process): past ADMIN_AUTH_FAILURES in
 * ADMIN_AUTH_WINDOW_S every admin request from that address gets 429 until the window passes,
 * so the admin key cannot be guessed at network speed.
 */
@Injectable()
export class AdminThrottle {
  private readonly failures: RateLimiterMemory;

  constructor(@Inject(CONFIG) private readonly config: Config) {
    this.failures = new RateLimiterMemory({
      points: config.ADMIN_AUTH_FAILURES,
      duration: config.ADMIN_AUTH_WINDOW_S,
    });
  }

  /** 429 when `client` spent its failures in this window. */
  async check(client: string): Promise<void> {
    const spent = await this.failures.get(client);
    if (spent && spent.consumedPoints >= this.config.ADMIN_AUTH_FAILURES) throw this.tooMany(spent);
  }

  async failed(client: string): Promise<void> {
    await this.failures.consume(client).catch((outcome: unknown) => {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
    });
  }

  private tooMany(spent: RateLimiterRes): ApiError {
    const retryAfterS = Math.max(1, Math.ceil(spent.msBeforeNext / 1000));
    const error = new ApiError(
      429,
      'rate_limited',
      `more than ${this.config.ADMIN_AUTH_FAILURES} wrong admin keys from this address in ` +
        `${this.config.ADMIN_AUTH_WINDOW_S} s (ADMIN_AUTH_FAILURES); retry later`,
      undefined,
      { retry_after_s: retryAfterS },
    );
    error.headers['Retry-After'] = String(retryAfterS);
    return error;
  }
}
