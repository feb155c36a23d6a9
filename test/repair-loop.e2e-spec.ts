import { randomBytes } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { DataSource } from 'typeorm';
import {
  BatchProgressRepository,
  ChunkQueues,
  chunkJobId,
  dataSourceOptions,
  loadConfig,
  redisOptions,
  repairLoopFor,
  type ChunkJobData,
  type RepairLoop,
} from '@dllm/shared';
import { chunkQueue, installWriteAudit, seedBatch } from './support/seed-batch';
import { REDIS_URL } from './support/services';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { waitFor } from './support/wait-for';

// The repair loop against real Postgres and Redis: every way a chunk can lose its job.
jest.setTimeout(60_000);

describe('repair loop (real Redis and Postgres)', () => {
  let tdb: TestDatabase;
  let db: Client;
  let dataSource: DataSource;
  const prefix = `dllm-repair-${randomBytes(4).toString('hex')}`;
  const queues: ChunkQueues[] = [];
  const loops: RepairLoop[] = [];
  let seeder: ReturnType<typeof chunkQueue>;
  let redis: Redis;

  const newLoop = (overrides: Record<string, string> = {}): RepairLoop => {
    const c = loadConfig({
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATABASE_URL: tdb.url,
      REPAIR_GRACE_MS: '0',
      ITEM_MAX_ATTEMPTS: '3',
      JOB_ATTEMPTS: '1',
      BATCH_CHUNK_SIZE: '4',
      ...overrides,
    });
    const modelQueues = new ChunkQueues(c, ['dllm-code-small', 'tiny-twin']);
    queues.push(modelQueues);
    const loop = repairLoopFor(c, {
      dataSource,
      queueFor: (model) => modelQueues.for(model),
      progress: new BatchProgressRepository(dataSource, {
        maxAttempts: c.ITEM_MAX_ATTEMPTS,
        poisonRuns: c.ITEM_POISON_RUNS,
      }),
      log: pino({ level: 'silent' }),
    });
    loops.push(loop);
    return loop;
  };

  const items = async (id: string) =>
    (
      await db.query<{
        index: number;
        status: string;
        failure_reason: string | null;
        error: string | null;
      }>(
        `SELECT index, status, failure_reason, error FROM batch_items WHERE batch_id = $1 ORDER BY index`,
        [id],
      )
    ).rows;
  const batchStatus = async (id: string) =>
    (await db.query<{ status: string }>(`SELECT status FROM batches WHERE id = $1`, [id])).rows[0]!
      .status;
  const jobState = async (id: string, chunk: number) =>
    await seeder.getJobState(chunkJobId(id, chunk));

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = new Client({ connectionString: tdb.url });
    await db.connect();
    await installWriteAudit(db);
    dataSource = await new DataSource(
      dataSourceOptions({ DATABASE_URL: tdb.url, DATABASE_POOL_SIZE: 4 }),
    ).initialize();
    seeder = chunkQueue(prefix);
    redis = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    for (const loop of loops.splice(0)) await loop.stop();
  });

  afterAll(async () => {
    for (const q of queues) await q.closeAll();
    await seeder?.obliterate({ force: true }).catch(() => undefined);
    await seeder?.close();
    redis?.disconnect();
    await dataSource?.destroy();
    await db?.end();
    await tdb?.drop();
  });

  it('re-enqueues chunks whose jobs vanished from Redis (flushed), with the same job ids', async () => {
    const id = await seedBatch(db, seeder, { items: 8, params: { gen_length: 4 }, chunkSize: 4 });
    await seeder.remove(chunkJobId(id, 0));
    await seeder.remove(chunkJobId(id, 1));
    expect(await jobState(id, 0)).toBe('unknown');
    const report = await newLoop().runOnce();
    expect(report).toMatchObject({ leader: true, requeued: 2 });
    expect(await jobState(id, 0)).toBe('waiting');
    expect(await jobState(id, 1)).toBe('waiting');
    // a second pass finds them waiting and adds nothing
    expect(await loops[0]!.runOnce()).toMatchObject({ requeued: 0 });
  });

  it("repairs each batch in its own model's queue (a second model's chunks never go to the first's)", async () => {
    const twin = chunkQueue(prefix, REDIS_URL, 'tiny-twin');
    let id = '';
    try {
      id = await seedBatch(db, twin, {
        items: 8,
        params: { gen_length: 4 },
        chunkSize: 4,
        model: 'tiny-twin',
      });
      await twin.remove(chunkJobId(id, 0));
      await db.query(`UPDATE batches SET enqueued_at = NULL WHERE id = $1`, [id]);
      await twin.remove(chunkJobId(id, 1));
      // stranded (never enqueued): enqueued into its model's queue
      expect(await newLoop({ ENQUEUE_GRACE_MS: '0' }).runOnce()).toMatchObject({ enqueued: 1 });
      expect(await twin.getJobState(chunkJobId(id, 0))).toBe('waiting');
      expect(await seeder.getJobState(chunkJobId(id, 0))).toBe('unknown');
      // flushed: re-enqueued there too, with the same job id
      await twin.remove(chunkJobId(id, 1));
      expect(await loops[0]!.runOnce()).toMatchObject({ requeued: 1 });
      expect(await twin.getJobState(chunkJobId(id, 1))).toBe('waiting');
      expect(await seeder.getJobState(chunkJobId(id, 1))).toBe('unknown');
    } finally {
      // leave nothing open for the next tests' loops to repair
      await db.query(`UPDATE batches SET status = 'cancelled' WHERE id = $1`, [id]);
      await twin.obliterate({ force: true }).catch(() => undefined);
      await twin.close();
    }
  });

  it('leaves an interactive request alone: its one job lives in the interactive queue', async () => {
    const id = await seedBatch(db, seeder, { items: 1, params: { gen_length: 4 }, chunkSize: 1 });
    await seeder.remove(chunkJobId(id, 0)); // as if it had been queued in the interactive queue
    await db.query(`UPDATE batches SET origin = 'interactive', chunk_size = 1 WHERE id = $1`, [id]);
    expect(await newLoop().runOnce()).toMatchObject({ leader: true, requeued: 0, ended: 0 });
    expect(await jobState(id, 0)).toBe('unknown');
    // cancelled (the request timed out, or its client left): the loop ends it like any batch
    await db.query(`UPDATE batches SET status = 'cancelling' WHERE id = $1`, [id]);
    await loops[0]!.runOnce();
    expect((await items(id)).map((i) => i.status)).toEqual(['cancelled']);
  });

  it('waits out the grace before acting on a missing job (a finishing job may just have been removed)', async () => {
    const id = await seedBatch(db, seeder, { items: 4, params: { gen_length: 4 }, chunkSize: 4 });
    await seeder.remove(chunkJobId(id, 0));
    const loop = newLoop({ REPAIR_GRACE_MS: '300' });
    expect(await loop.runOnce()).toMatchObject({ requeued: 0 });
    await waitFor(
      'grace over and chunk re-enqueued',
      async () => (await loop.runOnce()).requeued === 1,
      5000,
      100,
    );
    expect(await jobState(id, 0)).toBe('waiting');
  });

  it('puts back a chunk BullMQ gave up on; after ITEM_MAX_ATTEMPTS claims its items fail as attempts_exhausted', async () => {
    const id = await seedBatch(db, seeder, {
      items: 4,
      params: { gen_length: 4 },
      chunkSize: 4,
      attempts: 1,
    });
    const progress = new BatchProgressRepository(dataSource, { maxAttempts: 3, poisonRuns: 2 });
    // a worker whose chunks always break after claiming (think: writes that always fail)
    const connection = new Redis(REDIS_URL, redisOptions('consumer'));
    const broken = new Worker<ChunkJobData>(
      seeder.name,
      async (job: Job<ChunkJobData>) => {
        await progress.claimItems(
          job.data.batchId,
          job.data.firstIndex,
          job.data.lastIndex,
          'broken',
        );
        throw new Error('result write failed');
      },
      { connection, prefix },
    );
    const loop = newLoop();
    try {
      await waitFor(
        'batch failed',
        async () => {
          await loop.runOnce();
          return (await batchStatus(id)) === 'failed';
        },
        30_000,
        100,
      );
    } finally {
      await broken.close();
      connection.disconnect();
    }
    const ended = await items(id);
    expect(
      ended.every((i) => i.status === 'failed' && i.failure_reason === 'attempts_exhausted'),
    ).toBe(true);
    expect(ended[0]!.error).toMatch(/^attempts_exhausted: claimed 3 times/);
    const writes = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM item_writes WHERE batch_id = $1`,
      [id],
    );
    expect(writes.rows[0]!.n).toBe(4);
  });

  it('re-enqueues an orphaned chunk (active, lock lapsed, no worker left) as a suspect', async () => {
    const id = await seedBatch(db, seeder, { items: 4, params: { gen_length: 4 }, chunkSize: 4 });
    // a worker takes the job and dies without a trace: force-closed, its lock left to lapse
    const connection = new Redis(REDIS_URL, redisOptions('consumer'));
    let taken!: () => void;
    const took = new Promise<void>((r) => (taken = r));
    const dying = new Worker<ChunkJobData>(
      seeder.name,
      () => (taken(), new Promise(() => undefined)),
      { connection, prefix, lockDuration: 500, stalledInterval: 600_000 },
    );
    await took;
    await dying.close(true);
    connection.disconnect();
    const lock = `${seeder.toKey(chunkJobId(id, 0))}:lock`;
    await waitFor(
      'lock lapsed',
      async () =>
        (await seeder.getJobState(chunkJobId(id, 0))) === 'active' &&
        (await redis.exists(lock)) === 0,
      5000,
      50,
    );
    expect(await newLoop().runOnce()).toMatchObject({ requeued: 1 });
    const job = (await seeder.getJob(chunkJobId(id, 0))) as Job<ChunkJobData> | undefined;
    expect(await job!.getState()).toBe('waiting');
    expect(job!.data.suspect).toBe(true);
  });

  it('cancels the open items of a cancelling batch no worker holds', async () => {
    const id = await seedBatch(db, seeder, { items: 4, params: { gen_length: 4 }, chunkSize: 4 });
    const progress = new BatchProgressRepository(dataSource);
    await progress.claimItems(id, 0, 1, 'gone'); // two items started by a worker that then died
    await progress.cancelBatch(id);
    await seeder.remove(chunkJobId(id, 0));
    await newLoop().runOnce();
    expect((await items(id)).map((i) => i.status)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    expect(await batchStatus(id)).toBe('cancelled');
  });

  it('past the deadline: items not started expire, started ones no worker holds fail as no_worker', async () => {
    const id = await seedBatch(db, seeder, { items: 4, params: { gen_length: 4 }, chunkSize: 4 });
    await new BatchProgressRepository(dataSource).claimItems(id, 0, 1, 'gone');
    await db.query(`UPDATE batches SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      id,
    ]);
    await newLoop().runOnce();
    const ended = await items(id);
    expect(ended.map((i) => [i.status, i.failure_reason])).toEqual([
      ['failed', 'no_worker'],
      ['failed', 'no_worker'],
      ['expired', null],
      ['expired', null],
    ]);
    expect(await batchStatus(id)).toBe('expired');
  });

  it('has one leader at a time; when it goes, another takes over', async () => {
    const a = newLoop();
    const b = newLoop();
    expect((await a.runOnce()).leader).toBe(true);
    expect((await b.runOnce()).leader).toBe(false);
    await a.stop();
    expect((await b.runOnce()).leader).toBe(true);
  });
});
