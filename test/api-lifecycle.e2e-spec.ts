import { parseSse, type BatchView as BatchBody } from '@dllm/contract';
import { CANCEL_CHANNEL, type ItemOutcome } from '@dllm/shared';
import { Redis } from 'ioredis';
import { BatchesRepository } from '../apps/api/src/batches/batches.repository';
import { Reconciler } from '../apps/api/src/batches/reconciler';
import type { SubmittedItem } from '../apps/api/src/batches/submission/submission';
import { ApiHarness, jsonBatch } from './support/api-harness';
import { waitFor } from './support/wait-for';

interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor?: string | null;
  next_after?: number | null;
}

/** After submission: reads, history, results, cancel, progress events, reconciler, tenancy. */
describe('batch lifecycle', () => {
  let api: ApiHarness;
  let acme: string;
  let globex: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ BATCH_CHUNK_SIZE: '2', SSE_POLL_MS: '50' });
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

  async function submit(body: object, key = acme): Promise<BatchBody> {
    return (await as(key).post('/v1/batches', body).expect(201)).body as BatchBody;
  }

  /** What a worker reports for a finished item. */
  const completed = (
    batchId: string,
    index: number,
    extra: Partial<ItemOutcome> = {},
  ): ItemOutcome => ({
    batchId,
    index,
    status: 'completed',
    output: `    return ${index}\n`,
    finishReason: 'stop',
    steps: 5,
    tokens: 12,
    promptTokens: 4,
    queueMs: 30,
    computeMs: 80,
    seed: 42,
    workerId: 'worker-1',
    ...extra,
  });

  describe('GET /v1/batches/:id', () => {
    it('reports counts, a timestamp per state and a timing summary as items end', async () => {
      const batch = await submit(jsonBatch(4));
      await api.progress.claimItems(batch.id, 0, 3, 'worker-1');
      await api.progress.finishItems([
        completed(batch.id, 0),
        completed(batch.id, 1, { status: 'failed', error: 'boom', steps: null, tokens: null }),
      ]);
      const mid = (await as(acme).get(`/v1/batches/${batch.id}`).expect(200)).body as BatchBody;
      expect(mid).toMatchObject({
        status: 'in_progress',
        request_counts: { total: 4, completed: 1, failed: 1, cancelled: 0, expired: 0 },
      });
      await api.progress.finishItems([completed(batch.id, 2), completed(batch.id, 3)]);
      const done = (await as(acme).get(`/v1/batches/${batch.id}`).expect(200)).body as BatchBody;
      expect(done.status).toBe('completed');
      expect(done.completed_at).not.toBeNull();
      // The failed item reported its prompt tokens too; its tokens and steps were null.
      expect(done.usage).toEqual({ prompt_tokens: 16, completion_tokens: 36 });
      expect(done.timing).toMatchObject({
        tokens: 36,
        mean_forwards_per_item: 5,
        mean_queue_ms: 30,
        compute_ms: 240,
      });
      expect(done.timing.tokens_per_second).toBeGreaterThan(0);
    });
  });

  describe('GET /v1/batches (history)', () => {
    let ids: string[];

    beforeAll(async () => {
      // 25 batches of another tenant's own history: newest first, filters, keyset pages.
      const hist = await api.keyFor('hist');
      ids = [];
      for (let i = 0; i < 25; i++) {
        const b = await submit(
          jsonBatch(1, { metadata: { team: i % 2 === 0 ? 'red' : 'blue', n: String(i) } }),
          hist,
        );
        ids.push(b.id);
      }
      await api.progress.cancelBatch(ids[3]!);
      (globalThis as { histKey?: string }).histKey = hist;
    });

    const hist = () => as((globalThis as { histKey?: string }).histKey!);

    it('pages newest first with an opaque cursor until has_more is false, no repeats', async () => {
      const seen: string[] = [];
      let cursor: string | null | undefined;
      let pages = 0;
      do {
        const res = await hist()
          .get(`/v1/batches?limit=10${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        const page = res.body as Page<BatchBody>;
        seen.push(...page.data.map((b) => b.id));
        cursor = page.next_cursor;
        pages++;
        expect(page.has_more).toBe(cursor !== null);
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it('filters by status, model, metadata and creation time', async () => {
      const byStatus = (await hist().get('/v1/batches?status=cancelled').expect(200))
        .body as Page<BatchBody>;
      expect(byStatus.data.map((b) => b.id)).toEqual([ids[3]]);
      const several = (
        await hist().get('/v1/batches?status=cancelled,queued&limit=100').expect(200)
      ).body as Page<BatchBody>;
      expect(several.data).toHaveLength(25);
      const byMeta = (await hist().get('/v1/batches?metadata[team]=red&metadata[n]=4').expect(200))
        .body as Page<BatchBody>;
      expect(byMeta.data.map((b) => b.id)).toEqual([ids[4]]);
      const red = (await hist().get('/v1/batches?metadata[team]=red&limit=100').expect(200))
        .body as Page<BatchBody>;
      expect(red.data).toHaveLength(13);
      const byModel = (await hist().get('/v1/batches?model=dllm-code-small&limit=100').expect(200))
        .body as Page<BatchBody>;
      expect(byModel.data).toHaveLength(25);
      const otherModel = (await hist().get('/v1/batches?model=other').expect(200))
        .body as Page<BatchBody>;
      expect(otherModel.data).toHaveLength(0);

      const rows = await api.dataSource.query<{ created_at: Date }[]>(
        `SELECT created_at FROM batches WHERE id = ANY($1::uuid[]) ORDER BY created_at`,
        [[ids[10], ids[14]]],
      );
      const after = rows[0]!.created_at.toISOString();
      const before = rows[1]!.created_at.toISOString();
      const range = (
        await hist()
          .get(`/v1/batches?created_after=${after}&created_before=${before}&limit=100`)
          .expect(200)
      ).body as Page<BatchBody>;
      expect(range.data.map((b) => b.id)).toEqual([ids[13], ids[12], ids[11]]);
    });

    it("only ever lists the caller's batches", async () => {
      const page = (await as(acme).get('/v1/batches?limit=100').expect(200))
        .body as Page<BatchBody>;
      expect(page.data.some((b) => ids.includes(b.id))).toBe(false);
    });
  });

  describe('items and results', () => {
    let batchId: string;

    beforeAll(async () => {
      const batch = await submit({
        items: [
          { custom_id: 'first', prompt: 'a = ' },
          { custom_id: 'second', prompt: 'b = ' },
          { custom_id: 'third', prefix: 'c = ', suffix: '\n' },
          { custom_id: 'fourth', prompt: 'd = ' },
        ],
      });
      batchId = batch.id;
      // Reported out of order, as workers do; index 3 stays queued.
      await api.progress.finishItems([
        completed(batchId, 2),
        completed(batchId, 0, { output: '1\n' }),
      ]);
      await api.progress.finishItems([
        { batchId, index: 1, status: 'failed', error: 'row failed: NaN in logits' },
      ]);
    });

    it('GET /items lists items with their results, by status, in pages', async () => {
      const all = (await as(acme).get(`/v1/batches/${batchId}/items`).expect(200)).body as Page<
        Record<string, unknown>
      >;
      expect(all.data.map((i) => [i.index, i.custom_id, i.status])).toEqual([
        [0, 'first', 'completed'],
        [1, 'second', 'failed'],
        [2, 'third', 'completed'],
        [3, 'fourth', 'queued'],
      ]);
      expect(all.data[2]).toMatchObject({
        prefix: 'c = ',
        suffix: '\n',
        output: '    return 2\n',
        steps: 5,
      });
      const completedOnly = (
        await as(acme).get(`/v1/batches/${batchId}/items?status=completed&limit=1`).expect(200)
      ).body as Page<Record<string, unknown>>;
      expect(completedOnly.data.map((i) => i.index)).toEqual([0]);
      expect(completedOnly).toMatchObject({ has_more: true, next_after: 0 });
      const next = (
        await as(acme)
          .get(`/v1/batches/${batchId}/items?status=completed&limit=1&after=0`)
          .expect(200)
      ).body as Page<Record<string, unknown>>;
      expect(next.data.map((i) => i.index)).toEqual([2]);
      expect(next.has_more).toBe(false);
    });

    it('GET /results streams ended items as JSONL ordered by index', async () => {
      const res = await as(acme).get(`/v1/batches/${batchId}/results`).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = res.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toEqual([
        expect.objectContaining({
          index: 0,
          custom_id: 'first',
          status: 'completed',
          output: '1\n',
          tokens: 12,
        }),
        expect.objectContaining({
          index: 1,
          custom_id: 'second',
          status: 'failed',
          error: 'row failed: NaN in logits',
        }),
        expect.objectContaining({
          index: 2,
          custom_id: 'third',
          status: 'completed',
          finish_reason: 'stop',
        }),
      ]);
    });

    it('?format=openai gives OpenAI batch output lines', async () => {
      const res = await as(acme).get(`/v1/batches/${batchId}/results?format=openai`).expect(200);
      const [ok, failed] = res.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(ok).toMatchObject({
        custom_id: 'first',
        error: null,
        response: {
          status_code: 200,
          body: {
            object: 'text_completion',
            model: 'dllm-code-small',
            choices: [{ text: '1\n', index: 0, finish_reason: 'stop' }],
            usage: { prompt_tokens: 4, completion_tokens: 12, total_tokens: 16 },
          },
        },
      });
      expect(failed).toMatchObject({
        custom_id: 'second',
        response: null,
        error: { code: 'generation_failed', message: 'row failed: NaN in logits' },
      });
    });

    it('streams a large result set completely', async () => {
      const batch = await submit(jsonBatch(2500));
      await api.progress.finishItems(
        Array.from({ length: 2500 }, (_, i) => completed(batch.id, i)),
      );
      const res = await as(acme).get(`/v1/batches/${batch.id}/results`).expect(200);
      const lines = res.text.trimEnd().split('\n');
      expect(lines).toHaveLength(2500);
      expect(lines.map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(
        Array.from({ length: 2500 }, (_, i) => i),
      );
    });
  });

  describe('POST /v1/batches/:id/cancel', () => {
    it('ends a batch with nothing running at once, keeping finished results', async () => {
      const batch = await submit(jsonBatch(3));
      await api.progress.finishItems([completed(batch.id, 0)]);
      const res = await as(acme).post(`/v1/batches/${batch.id}/cancel`).expect(200);
      expect(res.body).toMatchObject({
        status: 'cancelled',
        request_counts: { completed: 1, cancelled: 2 },
      });
      const results = await as(acme).get(`/v1/batches/${batch.id}/results`).expect(200);
      expect(results.text).toContain('"status":"completed"');
    });

    it('is cancelling while items run, tells the workers, then cancelled when they stop', async () => {
      const batch = await submit(jsonBatch(4));
      await api.progress.claimItems(batch.id, 0, 1, 'worker-1');
      const subscriber = new Redis(api.config.REDIS_URL);
      const notices: string[] = [];
      await subscriber.subscribe(CANCEL_CHANNEL);
      subscriber.on('message', (_channel, message) => notices.push(message));
      try {
        const res = await as(acme).post(`/v1/batches/${batch.id}/cancel`).expect(200);
        const body = res.body as BatchBody;
        expect(body).toMatchObject({ status: 'cancelling', request_counts: { cancelled: 2 } });
        expect(body.cancelling_at).not.toBeNull();
        await waitFor('the cancel notice', () => notices.includes(batch.id), 3000, 20);
        // Cancelling again is a no-op answered with the batch.
        await as(acme).post(`/v1/batches/${batch.id}/cancel`).expect(200);
        await api.progress.finishItems([
          completed(batch.id, 0),
          { batchId: batch.id, index: 1, status: 'cancelled', finishReason: 'cancelled' },
        ]);
        const after = (await as(acme).get(`/v1/batches/${batch.id}`).expect(200)).body as BatchBody;
        expect(after).toMatchObject({
          status: 'cancelled',
          request_counts: { completed: 1, cancelled: 3 },
        });
        expect(after.cancelled_at).not.toBeNull();
      } finally {
        await subscriber.quit();
      }
    });

    it('refuses to cancel a batch that already ended (409)', async () => {
      const batch = await submit(jsonBatch(1));
      await api.progress.finishItems([completed(batch.id, 0)]);
      const res = await as(acme).post(`/v1/batches/${batch.id}/cancel`).expect(409);
      expect(res.body).toMatchObject({ error: { code: 'batch_not_cancellable' } });
    });
  });

  describe('GET /v1/batches/:id/events (SSE)', () => {
    it('sends progress as items end and closes with done at the end', async () => {
      const batch = await submit(jsonBatch(2));
      const finishing = (async () => {
        await sleep(150);
        await api.progress.finishItems([completed(batch.id, 0)]);
        await sleep(150);
        await api.progress.finishItems([completed(batch.id, 1)]);
      })();
      const res = await as(acme).get(`/v1/batches/${batch.id}/events`).expect(200);
      await finishing;
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = parseSse(res.text).map((e) => ({
        event: e.event,
        data: JSON.parse(e.data) as BatchBody,
      }));
      expect(events[0]).toMatchObject({ event: 'progress', data: { status: 'queued' } });
      expect(events.map((e) => e.data.request_counts.completed)).toEqual(
        expect.arrayContaining([0, 1, 2]),
      );
      expect(events[events.length - 1]).toMatchObject({
        event: 'done',
        data: { status: 'completed' },
      });
    });

    it('ends at once for a batch that already ended', async () => {
      const batch = await submit(jsonBatch(1));
      await as(acme).post(`/v1/batches/${batch.id}/cancel`).expect(200);
      const res = await as(acme).get(`/v1/batches/${batch.id}/events`).expect(200);
      expect(res.text).toContain('event: done');
    });
  });

  describe('reconciler', () => {
    it('enqueues a batch committed but never enqueued (the API died in between)', async () => {
      const repo = api.app.get(BatchesRepository);
      const id = '7d1c1e9c-3f57-4c51-9d8e-0a6f1e1a0001';
      const items: SubmittedItem[] = [0, 1, 2].map((i) => ({
        customId: `x${i}`,
        task: { prompt: 'y = ' },
        params: {} as SubmittedItem['params'],
        paramsJson: '{"gen_length":8}',
      }));
      const keyRow = await api.dataSource.query<{ id: string }[]>(
        `SELECT id FROM api_keys WHERE tenant = 'acme' LIMIT 1`,
      );
      await repo.insert(
        {
          id,
          tenant: 'acme',
          apiKeyId: keyRow[0]!.id,
          model: 'dllm-code-small',
          params: {},
          metadata: {},
          completionWindow: 3600,
          idempotencyKey: null,
          requestHash: null,
        },
        items,
      );
      const reconciler = api.app.get(Reconciler);
      // Within the grace period it is left alone: the submitting request may still be enqueueing.
      await reconciler.runOnce();
      expect((await api.queuedJobIds()).filter((j) => j.startsWith(id))).toEqual([]);

      await api.dataSource.query(
        `UPDATE batches SET created_at = now() - interval '1 minute' WHERE id = $1`,
        [id],
      );
      await reconciler.runOnce();
      const jobs = (await api.queuedJobIds()).filter((j) => j.startsWith(id)).sort();
      expect(jobs).toEqual([`${id}_0`, `${id}_1`]);
      const batch = (await as(acme).get(`/v1/batches/${id}`).expect(200)).body as BatchBody;
      expect(batch.enqueued_at).not.toBeNull();
      // A second pass adds nothing.
      await reconciler.runOnce();
      expect((await api.queuedJobIds()).filter((j) => j.startsWith(id))).toHaveLength(2);
    });

    it('expires items not started once the completion window has passed', async () => {
      const batch = await submit(jsonBatch(3, { completion_window: 60 }));
      await api.progress.finishItems([completed(batch.id, 0)]);
      await api.dataSource.query(
        `UPDATE batches SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [batch.id],
      );
      await api.app.get(Reconciler).runOnce();
      const after = (await as(acme).get(`/v1/batches/${batch.id}`).expect(200)).body as BatchBody;
      expect(after).toMatchObject({
        status: 'expired',
        request_counts: { completed: 1, expired: 2 },
      });
      expect(after.expired_at).not.toBeNull();
    });
  });

  describe('tenant isolation', () => {
    let acmeBatch: string;

    beforeAll(async () => {
      acmeBatch = (await submit(jsonBatch(2))).id;
    });

    it.each([
      ['GET', ''],
      ['GET', '/items'],
      ['GET', '/results'],
      ['GET', '/events'],
      ['POST', '/cancel'],
    ])("another tenant's %s /v1/batches/:id%s is 404", async (method, suffix) => {
      const path = `/v1/batches/${acmeBatch}${suffix}`;
      const res = await (method === 'GET' ? as(globex).get(path) : as(globex).post(path)).expect(
        404,
      );
      expect(res.body).toMatchObject({
        error: { code: 'not_found', message: `batch ${acmeBatch} not found` },
      });
    });

    it("another tenant's cancel changed nothing, and its history does not list the batch", async () => {
      const batch = (await as(acme).get(`/v1/batches/${acmeBatch}`).expect(200)).body as BatchBody;
      expect(batch.status).toBe('queued');
      const page = (await as(globex).get('/v1/batches?limit=100').expect(200))
        .body as Page<BatchBody>;
      expect(page.data.map((b) => b.id)).not.toContain(acmeBatch);
    });

    it('an Idempotency-Key of another tenant does not reveal its batch', async () => {
      const body = jsonBatch(1);
      const mine = await as(acme)
        .post('/v1/batches', body)
        .set('Idempotency-Key', 'iso-1')
        .expect(201);
      const theirs = await as(globex)
        .post('/v1/batches', body)
        .set('Idempotency-Key', 'iso-1')
        .expect(201);
      expect((theirs.body as BatchBody).id).not.toBe((mine.body as BatchBody).id);
    });
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
