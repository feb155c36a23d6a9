import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BatchProgressRepository, chunkQueueName, loadConfig, type Config } from '@dllm/shared';
import { Redis } from 'ioredis';
import pino from 'pino';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { AppModule } from '../../apps/api/src/app.module';
import { configureApp } from '../../apps/api/src/app.setup';
import { REDIS_URL } from './services';
import { createTestDatabase, type TestDatabase } from './test-database';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123';

/**
 * The whole API in-process against the real Postgres (a fresh database, migrated) and Redis
 * (a fresh BullMQ prefix), built exactly as main.ts builds it.
 */
export class ApiHarness {
  private constructor(
    readonly app: INestApplication<App>,
    readonly config: Config,
    /** null for a sibling: the first instance owns the database and the Redis keys */
    private readonly db: TestDatabase | null,
    readonly redis: Redis,
    /** the environment the config was read from */
    private readonly env: Record<string, string>,
  ) {}

  /**
   * A second API process of the same deployment: another app instance on `first`'s database,
   * Redis prefix and config (with `env` on top), as a second replica would be. Close it before
   * `first`.
   */
  static async sibling(first: ApiHarness, env: Record<string, string> = {}): Promise<ApiHarness> {
    const input = { ...first.env, ...env };
    const config = loadConfig(input);
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const app = await ApiHarness.build(config, logger);
    return new ApiHarness(app, config, null, new Redis(config.REDIS_URL), input);
  }

  private static async build(config: Config, logger: pino.Logger): Promise<INestApplication<App>> {
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config, logger)],
    }).compile();
    const app = moduleRef.createNestApplication<INestApplication<App>>({
      bodyParser: false,
      logger: false,
    });
    configureApp(app, config, logger);
    await app.init();
    return app;
  }

  /** `logTo`: where the API's JSON log lines go (at `warn` and above), for tests that read them. */
  static async start(
    env: Record<string, string> = {},
    logTo?: { write(line: string): void },
  ): Promise<ApiHarness> {
    const db = await createTestDatabase();
    const input: Record<string, string> = {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: `test_${randomBytes(6).toString('hex')}`,
      ADMIN_API_KEY: ADMIN_KEY,
      // Tests run the reconciler by hand.
      RECONCILE_INTERVAL_MS: '3600000',
      DATABASE_POOL_SIZE: '4',
      // the shared 2-core machine can be slow to answer; a probe timeout here is not what is tested
      HEALTH_PROBE_TIMEOUT_MS: '10000',
      ...env,
    };
    const config = loadConfig(input);
    const logger = logTo
      ? pino({ level: 'warn' }, logTo)
      : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const app = await ApiHarness.build(config, logger);
    return new ApiHarness(app, config, db, new Redis(config.REDIS_URL), input);
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  /** A GET as the holder of `key`. */
  getAs(key: string, path: string) {
    return this.http.get(path).set('Authorization', `Bearer ${key}`);
  }

  /** Submits `jsonBatch(n)` as the holder of `key`; the new batch's id. */
  async submitAs(key: string, n: number): Promise<string> {
    const res = await this.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send(jsonBatch(n))
      .expect(201);
    return (res.body as { id: string }).id;
  }

  get dataSource(): DataSource {
    return this.app.get(DataSource);
  }

  /** The worker's write path (results, claims), as the worker will call it. */
  get progress(): BatchProgressRepository {
    return this.app.get(BatchProgressRepository);
  }

  /** A fresh API key of `tenant`, issued through the admin route. */
  async keyFor(tenant: string): Promise<string> {
    const res = await this.http
      .post('/v1/admin/api-keys')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .send({ tenant, name: `${tenant} key` })
      .expect(201);
    return (res.body as { key: string }).key;
  }

  /** Job ids waiting in this run's chunk queue of `model`. */
  async queuedJobIds(model = 'dllm-code-small'): Promise<string[]> {
    return this.redis.lrange(`${this.config.QUEUE_PREFIX}:${chunkQueueName(model)}:wait`, 0, -1);
  }

  async jobData(jobId: string, model = 'dllm-code-small'): Promise<unknown> {
    const data = await this.redis.hget(
      `${this.config.QUEUE_PREFIX}:${chunkQueueName(model)}:${jobId}`,
      'data',
    );
    return data === null ? null : JSON.parse(data);
  }

  async close(): Promise<void> {
    await this.app?.close();
    if (!this.db) {
      await this.redis.quit();
      return;
    }
    // Leave Redis as found: drop this run's BullMQ keys.
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.config.QUEUE_PREFIX}:*`,
        'COUNT',
        1000,
      );
      if (keys.length > 0) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await this.redis.quit();
    await this.db.drop();
  }
}

/** A JSON batch body with `n` small items. */
export function jsonBatch(n: number, extra: Record<string, unknown> = {}) {
  return {
    items: Array.from({ length: n }, (_, i) => ({
      custom_id: `req-${i}`,
      prompt: `def f${i}(x):\n`,
    })),
    ...extra,
  };
}
