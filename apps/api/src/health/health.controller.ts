import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../auth/principal';
import type { HttpResponse } from '../common/http';
import { REDIS } from '../redis/redis.module';

/** A readiness probe gives up on a dependency after this long (it is "down", not "slow"). */
const PROBE_TIMEOUT_MS = 2000;

type Check = 'ok' | `down: ${string}`;

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
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
      probe(() => this.dataSource.query('SELECT 1')),
      probe(() => this.redis.ping()),
    ]);
    const ok = postgres === 'ok' && redis === 'ok';
    if (!ok) res.statusCode = 503;
    return { status: ok ? 'ok' : 'unavailable', checks: { postgres, redis } };
  }
}

async function probe(check: () => Promise<unknown>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
          PROBE_TIMEOUT_MS,
        );
      }),
    ]);
    return 'ok';
  } catch (error) {
    return `down: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
