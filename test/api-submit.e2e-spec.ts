import type { BatchView as BatchBody } from '@dllm/contract';
import { ApiHarness, jsonBatch } from './support/api-harness';

/** Submitting batches: JSON and JSONL bodies, what is stored, what is queued, idempotency. */
describe('POST /v1/batches', () => {
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    // one test races four submissions of one key: more than the default concurrent-upload limit
    api = await ApiHarness.start({ BATCH_CHUNK_SIZE: '4', MAX_CONCURRENT_UPLOADS: '8' });
    key = await api.keyFor('acme');
  });

  afterAll(async () => {
    await api?.close();
  });

  const submit = (body: unknown, headers: Record<string, string> = {}) =>
    api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .set(headers)
      .send(body as object);

  const items = (batchId: string) =>
    api.dataSource.query<Record<string, unknown>[]>(
      `SELECT index, custom_id, prompt, prefix, suffix, params, status FROM batch_items WHERE batch_id = $1 ORDER BY index`,
      [batchId],
    );

  it('accepts a JSON batch: one row per item with merged, fully validated params, queued in chunks', async () => {
    const res = await submit({
      params: { gen_length: 32, temperature: 0.5 },
      metadata: { project: 'docs' },
      completion_window: '2h',
      items: [
        { custom_id: 'a', prompt: 'def fib(n):\n' },
        {
          custom_id: 'b',
          prefix: 'def add(a, b):\n    ',
          suffix: '\n',
          params: { gen_length: 8, seed: 3 },
        },
        ...Array.from({ length: 8 }, (_, i) => ({ custom_id: `c${i}`, prompt: 'x = ' })),
      ],
    }).expect(201);
    const batch = res.body as BatchBody;
    expect(batch).toMatchObject({
      status: 'queued',
      model: 'dllm-code-small',
      params: { gen_length: 32, temperature: 0.5 },
      metadata: { project: 'docs' },
      completion_window: 7200,
      request_counts: { total: 10, completed: 0, failed: 0, cancelled: 0, expired: 0 },
    });
    expect(batch.enqueued_at).not.toBeNull();
    expect(Date.parse(batch.expires_at) - Date.parse(batch.created_at)).toBe(7200 * 1000);

    const rows = await items(batch.id);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatchObject({
      index: 0,
      custom_id: 'a',
      prompt: 'def fib(n):\n',
      prefix: null,
      status: 'queued',
    });
    expect(rows[0]!.params).toMatchObject({
      gen_length: 32,
      temperature: 0.5,
      policy: 'threshold',
      top_p: 1,
    });
    expect(rows[1]).toMatchObject({
      custom_id: 'b',
      prompt: null,
      prefix: 'def add(a, b):\n    ',
      suffix: '\n',
    });
    expect(rows[1]!.params).toMatchObject({ gen_length: 8, temperature: 0.5, seed: 3 });

    // 10 items in chunks of 4: jobs <id>_0..2 covering [0,3], [4,7], [8,9].
    const jobs = (await api.queuedJobIds()).filter((id) => id.startsWith(batch.id));
    expect(jobs.sort()).toEqual([0, 1, 2].map((c) => `${batch.id}_${c}`));
    expect(await api.jobData(`${batch.id}_2`)).toEqual({
      batchId: batch.id,
      chunk: 2,
      firstIndex: 8,
      lastIndex: 9,
    });
  });

  it('accepts OpenAI batch lines (application/x-ndjson), batch options from the query', async () => {
    const lines = [
      {
        custom_id: 'one',
        method: 'POST',
        url: '/v1/completions',
        body: {
          model: 'dllm-code-small',
          prompt: 'import os\n',
          max_tokens: 16,
          temperature: 0.7,
          top_p: 0.9,
          seed: 1,
          stop: '\n\n',
        },
      },
      {
        custom_id: 'two',
        method: 'POST',
        url: '/v1/completions',
        body: {
          model: 'dllm-code-small',
          prompt: 'def f(x):\n    ',
          suffix: '\n\nprint(f(2))\n',
          max_tokens: 8,
          policy: 'entropy',
          entropy_budget: 0.5,
        },
      },
    ];
    const res = await api.http
      .post('/v1/batches?completion_window=3600&metadata[source]=openai')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/x-ndjson')
      .send(lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
      .expect(201);
    const batch = res.body as BatchBody;
    expect(batch).toMatchObject({
      completion_window: 3600,
      metadata: { source: 'openai' },
      request_counts: { total: 2 },
    });
    const rows = await items(batch.id);
    expect(rows[0]).toMatchObject({ custom_id: 'one', prompt: 'import os\n' });
    expect(rows[0]!.params).toMatchObject({
      gen_length: 16,
      temperature: 0.7,
      top_p: 0.9,
      seed: 1,
      stop: ['\n\n'],
    });
    expect(rows[1]).toMatchObject({
      custom_id: 'two',
      prompt: null,
      prefix: 'def f(x):\n    ',
      suffix: '\n\nprint(f(2))\n',
    });
    expect(rows[1]!.params).toMatchObject({
      gen_length: 8,
      policy: 'entropy',
      entropy_budget: 0.5,
    });
  });

  it('accepts a few thousand items in one request and queues every chunk', async () => {
    const res = await submit(jsonBatch(3000)).expect(201);
    const batch = res.body as BatchBody;
    expect(batch.request_counts.total).toBe(3000);
    const jobs = (await api.queuedJobIds()).filter((id) => id.startsWith(batch.id));
    expect(jobs).toHaveLength(750);
  });

  describe('Idempotency-Key', () => {
    it('returns the same batch (200) for the same key and body, never a copy', async () => {
      const body = jsonBatch(3, { metadata: { run: 'idem' } });
      const first = await submit(body, { 'Idempotency-Key': 'nightly-1' }).expect(201);
      const again = await submit(body, { 'Idempotency-Key': 'nightly-1' }).expect(200);
      expect((again.body as BatchBody).id).toBe((first.body as BatchBody).id);
      const rows = await api.dataSource.query<{ count: number }[]>(
        `SELECT count(*)::int AS count FROM batches WHERE idempotency_key = 'nightly-1'`,
      );
      expect(rows).toEqual([{ count: 1 }]);
    });

    it('refuses the same key with a different body (409) and says why', async () => {
      await submit(jsonBatch(2), { 'Idempotency-Key': 'nightly-2' }).expect(201);
      const res = await submit(jsonBatch(3), { 'Idempotency-Key': 'nightly-2' }).expect(409);
      expect(res.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
      expect((res.body as { error: { message: string } }).error.message).toMatch(
        /different request/,
      );
    });

    it('makes one batch when the same request races itself', async () => {
      const body = jsonBatch(50);
      const results = await Promise.all(
        Array.from({ length: 4 }, () => submit(body, { 'Idempotency-Key': 'race-1' })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 201]);
      expect(new Set(results.map((r) => (r.body as BatchBody).id)).size).toBe(1);
    });

    it('keys are per tenant: another tenant may use the same key', async () => {
      const other = await api.keyFor('globex');
      await submit(jsonBatch(1), { 'Idempotency-Key': 'shared-name' }).expect(201);
      await api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${other}`)
        .set('Idempotency-Key', 'shared-name')
        .send(jsonBatch(2))
        .expect(201);
    });
  });

  it('counts accepted batches and items in /metrics', async () => {
    const res = await api.http.get('/metrics').expect(200);
    expect(res.text).toMatch(/dllm_api_batches_accepted_total \d+/);
    expect(res.text).toMatch(/dllm_api_items_accepted_total \d+/);
    expect(res.text).toMatch(
      /dllm_api_http_requests_total\{method="POST",route="\/v1\/batches",status="201"\} \d+/,
    );
  });
});
