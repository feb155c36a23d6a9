import {
  BatchProgressRepository,
  batchEventsKey,
  endedBatchesKey,
  eventsEpochKey,
} from '@dllm/shared';
import { Reconciler } from '../apps/api/src/batches/reconciler';
import { BatchWatcher } from '../apps/api/src/batches/batch-watcher';
import { ApiHarness } from './support/api-harness';
import { waitFor } from './support/wait-for';
import { completedOutcome } from './support/outcomes';

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

  const get = (path: string) => api.getAs(acme, path);
  const submit = (n: number) => api.submitAs(acme, n);
  /** Writes as a process whose appends never reach Redis would (no event sink). */
  const silent = () => new BatchProgressRepository(api.dataSource);
  it('a late client is served from Postgres: the batch ended and its stream is gone', async () => {
    const id = await submit(1);
    await api.progress.claimItems(id, 0, 0, 'w1');
    await api.progress.finishItems([completedOutcome(id, 0)]);
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
    await silent().finishItems([completedOutcome(id, 0)]);
    expect((await api.app.get(Reconciler).runOnce()).announced).toBeGreaterThanOrEqual(1);
    expect((await api.app.get(Reconciler).runOnce()).announced).toBe(0);
  });

  /**
   * Opens the progress stream of `id` and waits until the API watches it; `ended` settles with
   * the response once the stream ends.
   */
  const openStream = async (id: string) => {
    const watcher = api.app.get(BatchWatcher);
    const before = watcher.streams;
    const ended = get(`/v1/batches/${id}/events`).then((r) => r);
    await waitFor('the stream to be watched', async () => watcher.streams > before, 10_000, 20);
    return { ended };
  };

  it('a stream open when the end event is lost ends once the repair loop announces it', async () => {
    const id = await submit(1);
    await api.progress.claimItems(id, 0, 0, 'w1');
    const { ended } = await openStream(id);
    await silent().finishItems([completedOutcome(id, 0)]);
    expect((await api.app.get(Reconciler).runOnce()).announced).toBeGreaterThanOrEqual(1);
    expect((await ended).text).toMatch(/event: done\ndata: .*"status":"completed"/);
  });

  it('two streams on one batch both hear its end', async () => {
    const id = await submit(1);
    await api.progress.claimItems(id, 0, 0, 'w1');
    const first = await openStream(id);
    const second = await openStream(id);
    await api.progress.finishItems([completedOutcome(id, 0)]);
    for (const { ended } of [first, second]) {
      expect((await ended).text).toMatch(/event: done\ndata: .*"status":"completed"/);
    }
  });

  it('after a Redis flush the repair loop announces again the batches that ended', async () => {
    const id = await submit(1);
    await api.progress.claimItems(id, 0, 0, 'w1');
    await api.progress.finishItems([completedOutcome(id, 0)]);
    const announced = async () =>
      (
        await api.dataSource.query<{ at: Date | null }[]>(
          'SELECT ended_event_at AS at FROM batches WHERE id = $1',
          [id],
        )
      )[0]?.at;
    await waitFor('the end to be announced', announced, 10_000, 20);
    await api.app.get(Reconciler).runOnce(); // the epoch key exists: Redis holds what was appended
    // the flush, of this deployment's keys only (Redis is shared with other tests)
    const prefix = api.config.QUEUE_PREFIX;
    await api.redis.del(
      eventsEpochKey(prefix),
      endedBatchesKey(prefix),
      batchEventsKey(prefix, id),
    );
    expect((await api.app.get(Reconciler).runOnce()).announced).toBeGreaterThanOrEqual(1);
    const ends = await api.redis.xrange(endedBatchesKey(prefix), '-', '+');
    expect(ends.some(([, fields]) => fields.includes(id))).toBe(true);
    expect(await api.redis.xlen(batchEventsKey(prefix, id))).toBeGreaterThan(0);
  });
});
