import { parseSse } from '@dllm/contract';
import { Redis } from 'ioredis';
import pino from 'pino';
import { CanvasRelay } from '../apps/worker/src/canvas-relay';
import { ApiHarness } from './support/api-harness';
import { waitFor } from './support/wait-for';
import { completedOutcome } from './support/outcomes';

interface Histogram {
  bins: { from: number; to: number; count: number }[];
}

/** What the dashboard reads besides the batch: GET /v1/batches/:id/stats and the canvas stream. */
describe('batch stats and canvas stream', () => {
  let api: ApiHarness;
  let acme: string;
  let globex: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ SSE_POLL_MS: '50' });
    acme = await api.keyFor('acme');
    globex = await api.keyFor('globex');
  });

  afterAll(async () => {
    await api?.close();
  });

  const get = (path: string, key = acme) => api.getAs(key, path);
  const submit = (n: number) => api.submitAs(acme, n);
  const completed = (batchId: string, index: number, steps: number, computeMs: number) =>
    completedOutcome(batchId, index, { steps, computeMs, tokens: 10, promptTokens: 3 });

  it('stats: throughput buckets and histograms of forwards and compute time over completed items', async () => {
    const id = await submit(5);
    const empty = (await get(`/v1/batches/${id}/stats`).expect(200)).body as {
      throughput: { points: unknown[] };
      forwards_per_item: Histogram;
    };
    expect(empty).toMatchObject({
      object: 'batch.stats',
      batch_id: id,
      throughput: { start: null, points: [] },
      forwards_per_item: { bins: [] },
    });

    await api.progress.claimItems(id, 0, 4, 'w1');
    await api.progress.finishItems([
      completed(id, 0, 3, 100),
      completed(id, 1, 3, 120),
      completed(id, 2, 5, 5000),
      completed(id, 3, 9, 90),
    ]);
    await api.progress.finishItems([{ batchId: id, index: 4, status: 'failed', error: 'boom' }]);
    const stats = (await get(`/v1/batches/${id}/stats`).expect(200)).body as {
      throughput: {
        start: string;
        bucket_seconds: number;
        points: { items: number; tokens: number; tokens_per_second: number }[];
      };
      forwards_per_item: Histogram;
      compute_ms: Histogram;
    };
    // Failed items are not in the charts: they have no timings.
    expect(stats.throughput.points.reduce((n, p) => n + p.items, 0)).toBe(4);
    expect(stats.throughput.points.reduce((n, p) => n + p.tokens, 0)).toBe(40);
    expect(stats.throughput.bucket_seconds).toBeGreaterThan(0);
    expect(stats.forwards_per_item.bins).toEqual([
      { from: 3, to: 3, count: 2 },
      { from: 4, to: 4, count: 0 },
      { from: 5, to: 5, count: 1 },
      { from: 6, to: 6, count: 0 },
      { from: 7, to: 7, count: 0 },
      { from: 8, to: 8, count: 0 },
      { from: 9, to: 9, count: 1 },
    ]);
    // 90..5000 ms in at most 30 bins of equal width, every item in one.
    const bins = stats.compute_ms.bins;
    expect(bins.length).toBeLessThanOrEqual(30);
    expect(bins[0]!.from).toBe(90);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(4);
    expect(bins[bins.length - 1]).toMatchObject({ count: 1 });
    await get(`/v1/batches/${id}/stats`, globex).expect(404);
  });

  it('canvas: relays every frame the worker appended, then done; resumes after Last-Event-ID; tenant-scoped', async () => {
    const id = await submit(2);
    const relay = new CanvasRelay(
      new Redis(api.config.REDIS_URL),
      api.config.QUEUE_PREFIX,
      pino({ level: 'silent' }),
    );
    const frames = [
      { index: 0, step: 1, text: 'a▒▒', masked: 2 },
      { index: 1, step: 1, text: '▒b', masked: 1 },
      { index: 0, step: 2, text: 'ab▒', masked: 1 },
      { index: 0, step: 3, text: 'abc', masked: 0 },
    ];
    for (const f of frames) relay.publish(id, f);
    const key = `${api.config.QUEUE_PREFIX}:canvas:${id}`;
    await waitFor('frames in Redis', async () => (await api.redis.xlen(key)) === 4, 5000, 20);
    expect(await api.redis.ttl(key)).toBeGreaterThan(3000); // expires an hour after the last frame
    relay.close();
    await api.progress.claimItems(id, 0, 1, 'w1');
    await api.progress.finishItems([completed(id, 0, 3, 10), completed(id, 1, 1, 10)]);

    const res = await get(`/v1/batches/${id}/canvas`)
      .expect(200)
      .expect('Content-Type', /text\/event-stream/);
    const events = parseSse(res.text);
    expect(
      events.filter((e) => e.event === 'canvas').map((e) => JSON.parse(e.data) as unknown),
    ).toEqual(frames);
    expect(events[events.length - 1]).toMatchObject({ event: 'done' });
    expect(JSON.parse(events[events.length - 1]!.data)).toMatchObject({ id, status: 'completed' });

    const second = events[1]!.id!;
    const resumed = parseSse(
      (await get(`/v1/batches/${id}/canvas`).set('Last-Event-ID', second).expect(200)).text,
    );
    expect(
      resumed.filter((e) => e.event === 'canvas').map((e) => JSON.parse(e.data) as unknown),
    ).toEqual(frames.slice(2));

    await get(`/v1/batches/${id}/canvas`, globex).expect(404);
  });
});
