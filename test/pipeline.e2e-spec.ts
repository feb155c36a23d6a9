import type { BatchView as BatchBody } from '@dllm/contract';
import { ApiHarness } from './support/api-harness';
import { startWorker, waitFor, type WorkerHandle } from './support/worker-process';

// The product end to end: REST -> Postgres + Redis -> worker process (bundled model) -> Postgres -> REST.
jest.setTimeout(180_000);

describe('submit -> worker -> results (API in process, worker as a child process)', () => {
  let api: ApiHarness;
  let worker: WorkerHandle;
  let key: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ BATCH_CHUNK_SIZE: '8' });
    key = await api.keyFor('acme');
    worker = startWorker({
      DATABASE_URL: api.config.DATABASE_URL,
      QUEUE_PREFIX: api.config.QUEUE_PREFIX,
      WORKER_METRICS_PORT: String(19900 + Math.floor(Math.random() * 90)),
      BATCH_CHUNK_SIZE: '8',
    });
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await api?.close();
  });

  const get = async (path: string) =>
    (await api.http.get(path).set('Authorization', `Bearer ${key}`).expect(200)).body as BatchBody;
  const until = (id: string, status: string) =>
    waitFor(
      `batch ${status}`,
      async () => {
        const b = await get(`/v1/batches/${id}`);
        return b.status === status ? b : undefined;
      },
      150_000,
      250,
    );

  it('a JSON batch completes; status has counts and a timing summary; results stream as JSONL in order', async () => {
    const items = [
      { custom_id: 'fib', prompt: 'def fibonacci(n):' },
      { custom_id: 'fill', prefix: 'x = [', suffix: ']\nprint(x)\n', params: { gen_length: 6 } },
      ...Array.from({ length: 14 }, (_, i) => ({
        custom_id: `c${i}`,
        prompt: `def handler_${i}(request):`,
      })),
    ];
    const res = await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send({
        params: { policy: 'threshold', gen_length: 16, seed: 7 },
        metadata: { run: 'pipeline' },
        items,
      })
      .expect(201);
    const id = (res.body as BatchBody).id;
    const done = await until(id, 'completed');
    expect(done.request_counts).toMatchObject({ total: 16, completed: 16, failed: 0 });
    expect(done.timing.tokens).toBe(15 * 16 + 6);
    expect(done.timing.tokens_per_second).toBeGreaterThan(0);
    expect(done.timing.mean_forwards_per_item).toBeGreaterThanOrEqual(1);
    expect(done.timing.mean_queue_ms).toBeGreaterThanOrEqual(0);

    const results = await api.http
      .get(`/v1/batches/${id}/results`)
      .set('Authorization', `Bearer ${key}`)
      .expect(200);
    const lines = results.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.custom_id)).toEqual(items.map((i) => i.custom_id));
    for (const l of lines) {
      expect(l).toMatchObject({
        status: 'completed',
        finish_reason: expect.stringMatching(/^(length|stop)$/) as unknown,
      });
      expect(typeof l.output).toBe('string');
      expect(l.steps).toBeGreaterThanOrEqual(1);
    }
    expect(lines[1]).toMatchObject({ index: 1, tokens: 6 });
    expect(lines.filter((l) => l.custom_id !== 'fill').every((l) => l.seed === 7)).toBe(true);

    const openai = await api.http
      .get(`/v1/batches/${id}/results?format=openai`)
      .set('Authorization', `Bearer ${key}`)
      .expect(200);
    const first = JSON.parse(openai.text.split('\n')[0]!) as {
      custom_id: string;
      response: { status_code: number };
    };
    expect(first).toMatchObject({ custom_id: 'fib', response: { status_code: 200 } });
  });

  it('an OpenAI-style JSONL upload runs end to end', async () => {
    const body = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({
        custom_id: `l${i}`,
        method: 'POST',
        url: '/v1/completions',
        body: { model: 'dllm-code-small', prompt: `import mod${i}`, max_tokens: 8, seed: i },
      }),
    ).join('\n');
    const res = await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/x-ndjson')
      .send(body)
      .expect(201);
    const done = await until((res.body as BatchBody).id, 'completed');
    expect(done.request_counts.completed).toBe(6);
    expect(done.timing.tokens).toBe(48);
  });

  it('cancel: running rows stop within a step, finished results are kept, the batch ends cancelled', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      custom_id: `k${i}`,
      prompt: `class Model${i}:`,
    }));
    const res = await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send({ params: { policy: 'fixed', gen_length: 96 }, items })
      .expect(201);
    const id = (res.body as BatchBody).id;
    await until(id, 'in_progress');
    const t0 = Date.now();
    await api.http
      .post(`/v1/batches/${id}/cancel`)
      .set('Authorization', `Bearer ${key}`)
      .expect(200);
    const b = await until(id, 'cancelled');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(b.request_counts.completed + b.request_counts.cancelled).toBe(40);
    expect(b.request_counts.cancelled).toBeGreaterThan(0);
  });
});
