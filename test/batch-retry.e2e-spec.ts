import type { BatchView as BatchBody } from '@dllm/contract';
import type { ItemOutcome } from '@dllm/shared';
import { ApiHarness } from './support/api-harness';

interface ItemBody {
  index: number;
  custom_id: string;
  status: string;
  prompt?: string;
  prefix?: string;
  suffix?: string;
  params: Record<string, unknown>;
}

/** POST /v1/batches/:id/retry against the real Postgres and Redis. */
describe('retrying a batch', () => {
  let api: ApiHarness;
  let acme: string;
  let globex: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ BATCH_CHUNK_SIZE: '2' });
    acme = await api.keyFor('acme');
    globex = await api.keyFor('globex');
  });

  afterAll(async () => {
    await api?.close();
  });

  const as = (key: string) => ({
    get: (path: string) => api.http.get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string, body?: object) =>
      api.http
        .post(path)
        .set('Authorization', `Bearer ${key}`)
        .send(body ?? {}),
  });

  const ended = (batchId: string, index: number, status: ItemOutcome['status']): ItemOutcome =>
    status === 'completed'
      ? {
          batchId,
          index,
          status,
          output: 'x',
          finishReason: 'length',
          steps: 3,
          tokens: 4,
          promptTokens: 2,
          computeMs: 5,
          queueMs: 1,
        }
      : { batchId, index, status, error: status === 'failed' ? 'prompt is too long' : null };

  /** A batch of six items that ends with items 1 and 4 failed, 3 expired, 5 cancelled. */
  async function endedBatch(key = acme): Promise<BatchBody> {
    const res = await as(key)
      .post('/v1/batches', {
        params: { policy: 'fixed', gen_length: 8 },
        metadata: { project: 'retry-spec' },
        completion_window: '2h',
        items: [
          { custom_id: 'a', prompt: 'def a():' },
          { custom_id: 'b', prompt: 'def b():', params: { gen_length: 4, seed: 11 } },
          { custom_id: 'c', prompt: 'def c():' },
          { custom_id: 'd', prompt: 'def d():' },
          {
            custom_id: 'e',
            prefix: 'x = [',
            suffix: ']\n',
            params: { policy: 'threshold', threshold: 0.5 },
          },
          { custom_id: 'f', prompt: 'def f():' },
        ],
      })
      .expect(201);
    const batch = res.body as BatchBody;
    const statuses: ItemOutcome['status'][] = [
      'completed',
      'failed',
      'completed',
      'expired',
      'failed',
      'cancelled',
    ];
    await api.progress.finishItems(statuses.map((s, i) => ended(batch.id, i, s)));
    return (await as(key).get(`/v1/batches/${batch.id}`).expect(200)).body as BatchBody;
  }

  const itemsOf = async (id: string, key = acme) =>
    (
      (await as(key).get(`/v1/batches/${id}/items?limit=1000`).expect(200)).body as {
        data: ItemBody[];
      }
    ).data;

  it('makes a new batch of only the failed and expired items, with the same ids, inputs and parameters', async () => {
    const source = await endedBatch();
    expect(source.request_counts).toMatchObject({
      total: 6,
      completed: 2,
      failed: 2,
      expired: 1,
      cancelled: 1,
    });
    const jobsBefore = (await api.queuedJobIds()).length;

    const res = await as(acme).post(`/v1/batches/${source.id}/retry`).expect(201);
    const retry = res.body as BatchBody;
    expect(retry).toMatchObject({
      status: 'queued',
      retry_of: source.id,
      retried_by: null,
      model: source.model,
      params: source.params,
      metadata: { project: 'retry-spec' },
      completion_window: 7200,
      request_counts: { total: 3, completed: 0, failed: 0, expired: 0, cancelled: 0 },
    });
    expect(retry.id).not.toBe(source.id);
    expect(retry.enqueued_at).not.toBeNull();

    const before = await itemsOf(source.id);
    const after = await itemsOf(retry.id);
    const pick = ({ custom_id, prompt, prefix, suffix, params }: ItemBody) => ({
      custom_id,
      prompt,
      prefix,
      suffix,
      params,
    });
    expect(after.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(after.every((i) => i.status === 'queued')).toBe(true);
    expect(after.map(pick)).toEqual([before[1]!, before[3]!, before[4]!].map(pick));
    expect(after[0]!.params).toMatchObject({ gen_length: 4, seed: 11, policy: 'fixed' });

    // Its chunks are queued like a submitted batch's (chunk size 2: two jobs).
    expect((await api.queuedJobIds()).length - jobsBefore).toBe(2);
    expect(await api.queuedJobIds()).toEqual(
      expect.arrayContaining([`${retry.id}_0`, `${retry.id}_1`]),
    );

    // Both views show the link, and the history lists the retry.
    const sourceNow = (await as(acme).get(`/v1/batches/${source.id}`).expect(200))
      .body as BatchBody;
    expect(sourceNow.retried_by).toBe(retry.id);
    const history = (
      await as(acme).get('/v1/batches?metadata[project]=retry-spec&limit=100').expect(200)
    ).body as { data: BatchBody[] };
    expect(history.data.find((b) => b.id === retry.id)?.retry_of).toBe(source.id);
  });

  it('the same Idempotency-Key gives the same retry batch; the key used elsewhere is a conflict', async () => {
    const source = await endedBatch();
    const first = await as(acme)
      .post(`/v1/batches/${source.id}/retry`)
      .set('Idempotency-Key', 'retry-once-1')
      .expect(201);
    const again = await as(acme)
      .post(`/v1/batches/${source.id}/retry`)
      .set('Idempotency-Key', 'retry-once-1')
      .expect(200);
    expect((again.body as BatchBody).id).toBe((first.body as BatchBody).id);

    const other = await endedBatch();
    const reused = await as(acme)
      .post(`/v1/batches/${other.id}/retry`)
      .set('Idempotency-Key', 'retry-once-1')
      .expect(409);
    expect(reused.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    await as(acme)
      .post(`/v1/batches/${source.id}/retry`)
      .set('Idempotency-Key', 'bad key with spaces')
      .expect(400);
  });

  it('is a conflict while the batch runs, or when nothing failed or expired; nothing is written', async () => {
    const open = (
      await as(acme)
        .post('/v1/batches', { items: [{ custom_id: 'x', prompt: 'def x():' }] })
        .expect(201)
    ).body as BatchBody;
    const running = await as(acme).post(`/v1/batches/${open.id}/retry`).expect(409);
    expect(running.body).toMatchObject({ error: { code: 'batch_not_ended' } });
    expect((running.body as { error: { message: string } }).error.message).toContain('queued');

    await api.progress.finishItems([ended(open.id, 0, 'completed')]);
    const clean = await as(acme).post(`/v1/batches/${open.id}/retry`).expect(409);
    expect(clean.body).toMatchObject({ error: { code: 'nothing_to_retry' } });
    const reread = (await as(acme).get(`/v1/batches/${open.id}`).expect(200)).body as BatchBody;
    expect(reread.retried_by).toBeNull();
    const [retries] = await api.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM batches WHERE retry_of = $1`,
      [open.id],
    );
    expect(retries!.n).toBe(0);
  });

  it('is scoped to the tenant: another tenant cannot retry (404) and does not see the retry', async () => {
    const source = await endedBatch();
    await as(globex).post(`/v1/batches/${source.id}/retry`).expect(404);
    const retry = (await as(acme).post(`/v1/batches/${source.id}/retry`).expect(201))
      .body as BatchBody;
    await as(globex).get(`/v1/batches/${retry.id}`).expect(404);
    await as(acme).post('/v1/batches/not-a-uuid/retry').expect(400);
  });

  it('a retry that fails again can itself be retried, and the chain stays linked', async () => {
    const source = await endedBatch();
    const retry = (await as(acme).post(`/v1/batches/${source.id}/retry`).expect(201))
      .body as BatchBody;
    await api.progress.finishItems([
      ended(retry.id, 0, 'completed'),
      ended(retry.id, 1, 'failed'),
      ended(retry.id, 2, 'completed'),
    ]);
    const second = (await as(acme).post(`/v1/batches/${retry.id}/retry`).expect(201))
      .body as BatchBody;
    expect(second).toMatchObject({ retry_of: retry.id, request_counts: { total: 1 } });
    expect((await itemsOf(second.id)).map((i) => i.custom_id)).toEqual(['d']);
    expect(
      ((await as(acme).get(`/v1/batches/${retry.id}`).expect(200)).body as BatchBody).retried_by,
    ).toBe(second.id);
  });
});
