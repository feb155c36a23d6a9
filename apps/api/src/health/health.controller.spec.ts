import { loadConfig } from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { HttpResponse } from '../common/http';
import { HealthController } from './health.controller';

describe('HealthController', () => {
  const response = () => ({ statusCode: 200 }) as HttpResponse;
  const controller = (db: () => Promise<unknown>, redis: () => Promise<unknown>) =>
    new HealthController(
      { query: db } as unknown as DataSource,
      { ping: redis } as unknown as Redis,
      loadConfig({ HEALTH_PROBE_TIMEOUT_MS: '200' }),
    );

  it('is live without asking anything', () => {
    expect(controller(jest.fn(), jest.fn()).check()).toEqual({ status: 'ok' });
  });

  it('is ready when Postgres and Redis answer', async () => {
    const res = response();
    const ready = await controller(
      async () => [{}],
      async () => 'PONG',
    ).ready(res);
    expect(ready).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
    expect(res.statusCode).toBe(200);
  });

  it('answers 503 naming the dependency that is down', async () => {
    const res = response();
    const ready = await controller(
      async () => [{}],
      () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
    ).ready(res);
    expect(res.statusCode).toBe(503);
    expect(ready).toEqual({
      status: 'unavailable',
      checks: { postgres: 'ok', redis: 'down: connect ECONNREFUSED 127.0.0.1:6379' },
    });
  });

  it('never hangs on a dependency that does not answer: down after HEALTH_PROBE_TIMEOUT_MS', async () => {
    const res = response();
    const ready = await controller(
      () => new Promise(() => undefined),
      async () => 'PONG',
    ).ready(res);
    expect(res.statusCode).toBe(503);
    expect(ready.checks.postgres).toBe('down: no answer within 200 ms');
  });
});
