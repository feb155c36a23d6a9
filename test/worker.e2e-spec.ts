import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  BatchProgressRepository,
  CANCEL_CHANNEL,
  dataSourceOptions,
  type ChunkJobData,
} from '@dllm/shared';
import { REDIS_URL } from './support/services';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { chunkQueue, installWriteAudit, seedBatch } from './support/seed-batch';
import { startWorker, waitFor, type WorkerHandle } from './support/worker-process';

// Real Postgres, real Redis, real worker processes running the bundled model.
jest.setTimeout(180_000);

describe('worker (child processes, real Redis and Postgres)', () => {
  let tdb: TestDatabase;
  let db: Client;
  let queue: Queue<ChunkJobData>;
  const prefix = `dllm-test-${randomBytes(4).toString('hex')}`;
  const workers: WorkerHandle[] = [];
  let port = 19500 + Math.floor(Math.random() * 400);

  const spawnWorker = (extra: Record<string, string> = {}): WorkerHandle => {
    const w = startWorker({
      DATABASE_URL: tdb.url,
      QUEUE_PREFIX: prefix,
      WORKER_METRICS_PORT: String(port++),
      WORKER_LOCK_MS: '4000',
      WORKER_STALLED_CHECK_MS: '2000',
      ENGINE_MAX_BATCH_ROWS: '16',
      BATCH_CHUNK_SIZE: '8',
      ...extra,
    });
    workers.push(w);
    return w;
  };

  const batch = async (id: string) =>
    (
      await db.query<{
        status: string;
        completed_count: number;
        cancelled_count: number;
        total_count: number;
        total_tokens: string;
      }>(`SELECT * FROM batches WHERE id = $1`, [id])
    ).rows[0]!;
  const writesPerItem = async (id: string) =>
    (
      await db.query<{ index: number; n: number }>(
        `SELECT index, count(*)::int AS n FROM item_writes WHERE batch_id = $1 GROUP BY index ORDER BY index`,
        [id],
      )
    ).rows;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = new Client({ connectionString: tdb.url });
    await db.connect();
    await installWriteAudit(db);
    queue = chunkQueue(prefix);
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await db?.end();
    await tdb?.drop();
  });

  it('completes a batch: every item written exactly once, counters and timings summed', async () => {
    const id = await seedBatch(db, queue, {
      items: 24,
      params: { policy: 'threshold', gen_length: 8, seed: 1 },
      chunkSize: 8,
    });
    const w = spawnWorker();
    await waitFor('batch completed', async () => (await batch(id)).status === 'completed', 120_000);
    const b = await batch(id);
    expect(b).toMatchObject({ completed_count: 24, total_count: 24 });
    expect(Number(b.total_tokens)).toBe(24 * 8);
    expect((await writesPerItem(id)).map((r) => r.n)).toEqual(new Array(24).fill(1));
    const items = await db.query<{
      output: string;
      steps: number;
      compute_ms: number;
      queue_ms: number;
      worker_id: string;
    }>(
      `SELECT output, steps, compute_ms, queue_ms, worker_id FROM batch_items WHERE batch_id = $1`,
      [id],
    );
    for (const i of items.rows) {
      expect(i.output.length).toBeGreaterThan(0);
      expect(i.steps).toBeGreaterThanOrEqual(1);
      expect(i.worker_id).toMatch(/:\d+$/);
    }
    expect(w.output()).toMatch(/"batch_id":"[0-9a-f-]+","chunk":\d/); // JSON logs carry batch and chunk ids
  });

  it('reports its execution provider (/readyz, metrics, logs, each item); a GPU it cannot get is a loud fallback', async () => {
    const id = await seedBatch(db, queue, {
      items: 4,
      params: { gen_length: 4, seed: 5 },
      chunkSize: 4,
    });
    const metricsPort = port;
    // no GPU here: webgpu fails for real (no adapter), the worker runs on the cpu and says so
    const w = spawnWorker({ ENGINE_EXECUTION_PROVIDERS: 'webgpu,cpu' });
    await waitFor('batch completed', async () => (await batch(id)).status === 'completed', 120_000);
    const ready = (await (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).json()) as {
      status: string;
      engine: Record<string, unknown>;
    };
    expect(ready.status).toBe('ok');
    expect(ready.engine).toMatchObject({
      provider: 'cpu',
      requested_providers: ['webgpu', 'cpu'],
      gpu_fallback: true,
      max_batch_rows: 16,
    });
    expect(ready.engine.provider_failures).toEqual([
      expect.stringMatching(
        /^webgpu: Failed to get a WebGPU adapter: No supported adapters; missing: /,
      ),
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain(
      'dllm_engine_info{model="dllm-code-small",provider="cpu",requested="webgpu,cpu"} 1',
    );
    expect(metrics).toMatch(/^dllm_engine_gpu_fallback\{model="dllm-code-small"\} 1$/m);
    // the call mix: calls and rows by graph (these rows start their one block with a refresh)
    expect(metrics).toMatch(
      /^dllm_engine_graph_calls\{model="dllm-code-small",graph="refresh"\} [1-9]\d*$/m,
    );
    expect(metrics).toMatch(
      /^dllm_engine_graph_rows\{model="dllm-code-small",graph="refresh"\} [1-9]\d*$/m,
    );
    expect(w.output()).toMatch(/"level":40.*RUNNING ON CPU/);
    const items = await db.query<{ provider: string }>(
      `SELECT provider FROM batch_items WHERE batch_id = $1`,
      [id],
    );
    expect(items.rows.map((r) => r.provider)).toEqual(['cpu', 'cpu', 'cpu', 'cpu']);
  });

  it('ENGINE_REQUIRE_GPU=true and no GPU: the worker does not start, and says what is missing', async () => {
    const w = spawnWorker({ ENGINE_EXECUTION_PROVIDERS: 'webgpu', ENGINE_REQUIRE_GPU: 'true' });
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(
      /worker failed to start.*no GPU execution provider works.*webgpu: Failed to get a WebGPU adapter: No supported adapters; missing: /,
    );
  });

  it('a worker killed hard loses nothing: its chunks are taken over, each item written once', async () => {
    const id = await seedBatch(db, queue, {
      items: 48,
      params: { policy: 'fixed', gen_length: 32, seed: 2 },
      chunkSize: 8,
    });
    const a = spawnWorker();
    await waitFor('some items done', async () => (await batch(id)).completed_count >= 4, 120_000);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    expect((await batch(id)).status).not.toBe('completed');
    spawnWorker();
    await waitFor(
      'batch completed after takeover',
      async () => (await batch(id)).status === 'completed',
      150_000,
    );
    expect((await batch(id)).completed_count).toBe(48);
    expect((await writesPerItem(id)).map((r) => r.n)).toEqual(new Array(48).fill(1));
    const retried = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts > 1`,
      [id],
    );
    expect(retried.rows[0]!.n).toBeGreaterThan(0); // some items really were taken over
  });

  it('SIGTERM: stops taking work, hands unfinished chunks back within the drain, exits 0', async () => {
    const id = await seedBatch(db, queue, {
      items: 32,
      params: { policy: 'fixed', gen_length: 48, seed: 3 },
      chunkSize: 8,
    });
    const a = spawnWorker({ WORKER_DRAIN_MS: '1500' });
    await waitFor(
      'batch in progress',
      async () => (await batch(id)).status === 'in_progress',
      120_000,
    );
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(a.output()).toMatch(/handing/);
    spawnWorker();
    await waitFor(
      'batch completed by the next worker',
      async () => (await batch(id)).status === 'completed',
      150_000,
    );
    expect((await writesPerItem(id)).map((r) => r.n)).toEqual(new Array(32).fill(1));
  });

  it('cancellation reaches running rows; finished results are kept', async () => {
    const id = await seedBatch(db, queue, {
      items: 40,
      params: { policy: 'fixed', gen_length: 64, seed: 4 },
      chunkSize: 8,
    });
    spawnWorker();
    await waitFor('rows running', async () => (await batch(id)).status === 'in_progress', 120_000);
    // what the API's cancel does: batch -> cancelling, queued items -> cancelled, then tell the workers
    const ds = await new DataSource(
      dataSourceOptions({ DATABASE_URL: tdb.url, DATABASE_POOL_SIZE: 2 }),
    ).initialize();
    await new BatchProgressRepository(ds).cancelBatch(id);
    await ds.destroy();
    const pub = new Redis(REDIS_URL);
    const t0 = Date.now();
    await pub.publish(CANCEL_CHANNEL, id);
    pub.disconnect();
    await waitFor(
      'batch cancelled',
      async () => (await batch(id)).status === 'cancelled',
      30_000,
      50,
    );
    expect(Date.now() - t0).toBeLessThan(10_000); // rows of 64 steps stopped mid-way, not run out
    const b = await batch(id);
    expect(b.completed_count + b.cancelled_count).toBe(40);
    expect(b.cancelled_count).toBeGreaterThan(0);
    const kept = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status = 'completed' AND output IS NOT NULL`,
      [id],
    );
    expect(kept.rows[0]!.n).toBe(b.completed_count);
  });

  it('rows an engine thread died under run again; the thread restarts and readiness says so meanwhile', async () => {
    const id = await seedBatch(db, queue, {
      items: 32,
      params: { policy: 'fixed', gen_length: 32, seed: 5 },
      chunkSize: 8,
    });
    const w = spawnWorker({ FAULT_INJECTION: 'engine-crash-signal' });
    const metricsPort = Number(w.env.WORKER_METRICS_PORT);
    await waitFor('rows running', async () => (await batch(id)).completed_count >= 1, 120_000);
    w.child.kill('SIGUSR2');
    // readiness reflects the death within one probe, and /readyz and /metrics answer meanwhile
    const ready = await waitFor(
      'readyz says the engine is down',
      async () => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
        const body = (await res.json()) as { checks: { engine: string } };
        return res.status === 503 ? body : undefined;
      },
      10_000,
      20,
    );
    expect(ready.checks.engine).toMatch(/engine (restarting|failed)/);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    await waitFor(
      'batch completed after the restart',
      async () => (await batch(id)).status === 'completed',
      150_000,
    );
    expect((await writesPerItem(id)).map((r) => r.n)).toEqual(new Array(32).fill(1));
    expect(w.output()).toMatch(/engine thread died/);
    const isolated = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND isolated_runs > 0`,
      [id],
    );
    expect(isolated.rows[0]!.n).toBe(0); // one death is nobody's fault: no row had to run alone
    expect(w.child.exitCode).toBeNull(); // one death is restarted, not fatal
  });
});
