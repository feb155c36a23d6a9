import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { BatchProgressRepository, dataSourceOptions, type ItemOutcome } from '@dllm/shared';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The write path both apps share: claims, results, cancel, expiry (real Postgres). */
describe('BatchProgressRepository', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let progress: BatchProgressRepository;
  let keyId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = new DataSource(dataSourceOptions({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: 8 }));
    await dataSource.initialize();
    progress = new BatchProgressRepository(dataSource);
    const [key] = await dataSource.query<{ id: string }[]>(
      `INSERT INTO api_keys (tenant, name, key_hash) VALUES ('t', 'k', repeat('a', 64)) RETURNING id`,
    );
    keyId = key!.id;
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  async function seedBatch(items: number, expiresInSeconds = 3600): Promise<string> {
    const id = randomUUID();
    await dataSource.query(
      `INSERT INTO batches (id, tenant, api_key_id, status, model, params, completion_window, expires_at, total_count)
       VALUES ($1, 't', $2, 'queued', 'm', '{}', 3600, now() + make_interval(secs => $3), $4)`,
      [id, keyId, expiresInSeconds, items],
    );
    await dataSource.query(
      `INSERT INTO batch_items (batch_id, index, custom_id, prompt, params)
       SELECT $1, i, 'req-' || i, 'prompt ' || i, '{}' FROM generate_series(0, $2 - 1) AS i`,
      [id, items],
    );
    return id;
  }

  async function batchRow(id: string) {
    const [row] = await dataSource.query<Record<string, unknown>[]>(
      `SELECT * FROM batches WHERE id = $1`,
      [id],
    );
    return row!;
  }

  const done = (batchId: string, index: number, extra: Partial<ItemOutcome> = {}): ItemOutcome => ({
    batchId,
    index,
    status: 'completed',
    output: `out ${index}`,
    finishReason: 'stop',
    steps: 4,
    tokens: 10,
    promptTokens: 3,
    queueMs: 100,
    computeMs: 50,
    seed: 7,
    workerId: 'w1',
    ...extra,
  });

  it('claims a chunk, moves the batch to in_progress, and counts every claim', async () => {
    const id = await seedBatch(5);
    const claim = await progress.claimItems(id, 0, 2, 'w1');
    expect(claim?.status).toBe('in_progress');
    expect(claim?.items.map((i) => [i.index, i.customId, i.attempts])).toEqual([
      [0, 'req-0', 1],
      [1, 'req-1', 1],
      [2, 'req-2', 1],
    ]);
    // A retried chunk (worker died) takes the in-progress items over.
    const again = await progress.claimItems(id, 0, 2, 'w2');
    expect(again?.items.map((i) => i.attempts)).toEqual([2, 2, 2]);
    const row = await batchRow(id);
    expect(row.status).toBe('in_progress');
    expect(row.in_progress_at).toBeInstanceOf(Date);
  });

  it('records results once: a replay changes neither items nor counters', async () => {
    const id = await seedBatch(3);
    const first = await progress.finishItems([
      done(id, 0),
      done(id, 1, { status: 'failed', error: 'boom' }),
    ]);
    expect(first).toEqual([
      {
        batchId: id,
        status: 'in_progress',
        counts: { total: 3, completed: 1, failed: 1, cancelled: 0, expired: 0 },
        written: 2,
        closed: false,
      },
    ]);
    const replay = await progress.finishItems([done(id, 0, { output: 'other' }), done(id, 1)]);
    expect(replay[0]).toMatchObject({ written: 0, counts: { completed: 1, failed: 1 } });
    const [item] = await dataSource.query<{ output: string }[]>(
      `SELECT output FROM batch_items WHERE batch_id = $1 AND index = 0`,
      [id],
    );
    expect(item!.output).toBe('out 0');
  });

  it('closes the batch with its timing sums when the last item ends', async () => {
    const id = await seedBatch(2);
    await progress.finishItems([done(id, 0)]);
    const [last] = await progress.finishItems([done(id, 1, { steps: 6, tokens: 20 })]);
    expect(last).toMatchObject({ status: 'completed', closed: true });
    const row = await batchRow(id);
    expect(row).toMatchObject({
      status: 'completed',
      completed_count: 2,
      total_tokens: '30',
      total_forwards: '10',
      total_queue_ms: '200',
      total_compute_ms: '100',
      total_prompt_tokens: '6',
      timed_count: 2,
    });
    expect(row.completed_at).toBeInstanceOf(Date);
  });

  it('ends a batch as failed only when every item failed', async () => {
    const id = await seedBatch(2);
    const [p] = await progress.finishItems([
      done(id, 0, { status: 'failed', error: 'x' }),
      done(id, 1, { status: 'failed', error: 'y' }),
    ]);
    expect(p).toMatchObject({ status: 'failed', closed: true });
    expect((await batchRow(id)).failed_at).toBeInstanceOf(Date);
  });

  it('keeps counters exact under concurrent, overlapping writers', async () => {
    const id = await seedBatch(40);
    // 8 writers, each reporting 10 items; every item is reported twice by different writers.
    const writers = Array.from({ length: 8 }, (_, w) =>
      progress.finishItems(Array.from({ length: 10 }, (_, k) => done(id, (w * 5 + k) % 40))),
    );
    const results = await Promise.all(writers);
    expect(results.flat().reduce((sum, p) => sum + p.written, 0)).toBe(40);
    expect(results.flat().filter((p) => p.closed)).toHaveLength(1);
    const row = await batchRow(id);
    expect(row).toMatchObject({ status: 'completed', completed_count: 40, total_tokens: '400' });
  });

  it('cancel: queued items end now, running ones finish, then the batch is cancelled', async () => {
    const id = await seedBatch(4);
    await progress.claimItems(id, 0, 0, 'w1');
    await progress.finishItems([done(id, 1)]);
    const cancelling = await progress.cancelBatch(id);
    expect(cancelling).toMatchObject({
      status: 'cancelling',
      counts: { completed: 1, cancelled: 2 },
      closed: false,
    });
    // A claim of a cancelling batch hands out nothing.
    expect((await progress.claimItems(id, 2, 3, 'w2'))?.items).toEqual([]);
    // The running item ends (the worker stopped it); that closes the batch.
    const [closed] = await progress.finishItems([
      done(id, 0, { status: 'cancelled', finishReason: 'cancelled' }),
    ]);
    expect(closed).toMatchObject({
      status: 'cancelled',
      closed: true,
      counts: { cancelled: 3, completed: 1 },
    });
    const row = await batchRow(id);
    expect(row.cancelling_at).toBeInstanceOf(Date);
    expect(row.cancelled_at).toBeInstanceOf(Date);
    // Cancelling again changes nothing.
    expect(await progress.cancelBatch(id)).toMatchObject({ status: 'cancelled', written: 0 });
  });

  it('cancel with nothing running ends the batch at once', async () => {
    const id = await seedBatch(3);
    expect(await progress.cancelBatch(id)).toMatchObject({
      status: 'cancelled',
      closed: true,
      counts: { cancelled: 3 },
    });
  });

  it('expiry: items not started expire; the batch is expired once nothing runs', async () => {
    const id = await seedBatch(3, -1);
    await dataSource.query(
      `UPDATE batch_items SET status = 'in_progress' WHERE batch_id = $1 AND index = 0`,
      [id],
    );
    expect(await progress.expireBatch(id)).toMatchObject({
      status: 'queued',
      counts: { expired: 2 },
      closed: false,
    });
    const [p] = await progress.finishItems([done(id, 0)]);
    expect(p).toMatchObject({
      status: 'expired',
      closed: true,
      counts: { completed: 1, expired: 2 },
    });
  });

  it('does not expire a batch before its deadline', async () => {
    const id = await seedBatch(2);
    expect(await progress.expireBatch(id)).toMatchObject({ status: 'queued', written: 0 });
  });

  it('answers null for an unknown batch', async () => {
    expect(await progress.cancelBatch(randomUUID())).toBeNull();
    expect(await progress.claimItems(randomUUID(), 0, 1, 'w')).toBeNull();
    expect(await progress.finishItems([done(randomUUID(), 0)])).toEqual([]);
  });
});
