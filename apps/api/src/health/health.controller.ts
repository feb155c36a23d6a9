import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../auth/principal';
import { CONFIG } from '../common/core.module';
import type { HttpResponse } from '../common/http';
import { REDIS } from '../redis/redis.module';

type Check = 'ok' | `down: ${string}`;

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Liveness: answers as long as the process serves HTTP. */
  @Get('healthz')
  @ApiOperation({ summary: 'Liveness' })
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Postgres and Redis both answer; 503 naming the one that does not. */
  @Get('readyz')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Readiness: Postgres and Redis reachable (503 names the one that is not)',
  })
  async ready(@Res({ passthrough: true }) res: HttpResponse) {
    const [postgres, redis] = await Promise.all([
      probe(() => this.dataSource.query('SELECT 1'), this.config.HEALTH_PROBE_TIMEOUT_MS),
      probe(() => this.redis.ping(), this.config.HEALTH_PROBE_TIMEOUT_MS),
    ]);
    const ok = postgres === 'ok' && redis === 'ok';
    if (!ok) res.statusCode = 503;
    return { status: ok ? 'ok' : 'unavailable', checks: { postgres, redis } };
  }
}

/** A dependency that does not answer within `timeoutMs` is "down", not "slow". */
async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return `down: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
