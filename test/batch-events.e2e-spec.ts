import { BatchProgressRepository, type ItemOutcome } from '@dllm/shared';
import { Reconciler } from '../apps/api/src/batches/reconciler';
import { ApiHarness, jsonBatch } from './support/api-harness';

/**
 * The live event path's promise: events make streams fast, Postgres keeps them right. A client
 * that comes late is served from Postgres; an event that never reached Redis, or was lost with a
 * flush, is announced again by the repair loop and the open streams end.
 */
describe('live event path: Postgres stays the truth', () => {
  let api: ApiHarness;
  let acme: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ SSE_POLL_MS: '50' });
    acme = await api.keyFor('acme');
  });

  afterAll(async () => {
    await api?.close();
  });

  const get = (path: string) => api.http.get(path).set('Authorization', `Bearer ${acme}`);
  const submit = async (n: number) =>
    (
      (
        await api.http
          .post('/v1/batches')
          .set('Authorization', `Bearer ${acme}`)
          .send(jsonBatch(n))
          .expect(201)
      ).body as { id: string }
    ).id;
  const completed = (batchId: string, index: number): ItemOutcome => ({
    batchId,
    index,
    status: 'completed',
    output: 'x',
    finishReason: 'length',
    steps: 1,
    tokens: 1,
    promptTokens: 1,
    queueMs: 1,
    computeMs: 1,
  });
  /** Writes as a process whose appends never reach Redis would (no event sink). */
  const silent = () => new BatchProgressRepository(api.dataSource);
  it('a late client is served from Postgres: the batch ended and its stream is gone', async () => {
    const id = await submit(1);
    await api.progress.claimItems(id, 0, 0, 'w1');
    await api.progress.finishItems([completed(id, 0)]);
    await api.redis.del(`${api.config.QUEUE_PREFIX}:canvas:${id}`);
    const [progress, canvas] = await Promise.all([
      get(`/v1/batches/${id}/events`).expect(200),
      get(`/v1/batches/${id}/canvas`).expect(200),
    ]);
    expect(progress.text).toMatch(/event: done\ndata: .*"status":"completed"/);
    expect(canvas.text).toMatch(/event: done\ndata: .*"status":"completed"/);
  });

  it('announces an end once: a second repair pass finds nothing to announce', async () => {
    const id = await submit(1);
    await silent().claimItems(id, 0, 0, 'w1');
    await silent().finishItems([completed(id, 0)]);
    expect((await api.app.get(Reconciler).runOnce()).announced).toBeGreaterThanOrEqual(1);
    expect((await api.app.get(Reconciler).runOnce()).announced).toBe(0);
  });
});
