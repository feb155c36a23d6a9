import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { CHAOS_ADMIN_KEY, ChaosStack } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

// `npm run test:100k`: one 100,000-item batch through the built API and two workers, on a Redis and
// a Postgres of its own, watching Redis memory and status-read latency all the way.
jest.setTimeout(7_200_000);

const ITEMS = Number(process.env.SCALE_ITEMS ?? 100_000);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

describe(`a ${ITEMS}-item batch`, () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start({
      RATE_LIMIT_REQUESTS: '0',
      LOG_LEVEL: 'warn',
      REPAIR_GRACE_MS: '30000',
      WORKER_LOCK_MS: '30000',
      WORKER_STALLED_CHECK_MS: '15000',
    });
    await stack.startApi();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('completes with exactly one result per item, fast status reads, and bounded Redis memory', async () => {
    const key = (
      (await (
        await fetch(`${stack.apiUrl}/v1/admin/api-keys`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${CHAOS_ADMIN_KEY}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ tenant: 'scale', name: 'scale' }),
        })
      ).json()) as { key: string }
    ).key;
    const auth = { Authorization: `Bearer ${key}` };
    const workers = [await stack.startWorker(), await stack.startWorker()];
    await Promise.all(workers.map((w) => stack.workerReady(w)));
    const redisBefore = await stack.redis.usedMemory();

    const started = Date.now();
    const submit = await fetch(`${stack.apiUrl}/v1/batches`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        params: { policy: 'fixed', gen_length: 2, tokens_per_step: 2, seed: 1 },
        items: Array.from({ length: ITEMS }, (_, i) => ({
          custom_id: `s${i}`,
          prompt: `def function_${i}(x):`,
        })),
      }),
    });
    expect(submit.status).toBe(201);
    const acceptedS = (Date.now() - started) / 1000;
    const id = ((await submit.json()) as { id: string }).id;

    const reads: number[] = [];
    let redisPeak = 0;
    let jobKeysPeak = 0;
    const redis = stack.redis.client();
    try {
      await waitFor(
        'batch completed',
        async () => {
          const t0 = performance.now();
          const res = await fetch(`${stack.apiUrl}/v1/batches/${id}`, { headers: auth });
          reads.push(performance.now() - t0);
          const body = (await res.json()) as { status: string };
          redisPeak = Math.max(redisPeak, await stack.redis.usedMemory());
          jobKeysPeak = Math.max(
            jobKeysPeak,
            (await redis.keys(`chaos:dllm-chunks.dllm-code-small:${id}_*`)).length,
          );
          return body.status === 'completed';
        },
        7_000_000,
        2000,
      );
    } finally {
      redis.disconnect();
    }
    const completedS = (Date.now() - started) / 1000;

    // exactly one result line per item, in order
    const results = await fetch(`${stack.apiUrl}/v1/batches/${id}/results`, { headers: auth });
    let lines = 0;
    let lastIndex = -1;
    let ordered = true;
    let pending = '';
    for await (const chunk of results.body as unknown as AsyncIterable<Uint8Array>) {
      const parts = (pending + Buffer.from(chunk).toString('utf8')).split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        const index = (JSON.parse(line) as { index: number }).index;
        ordered &&= index === lastIndex + 1;
        lastIndex = index;
        lines++;
      }
    }
    const redis2 = stack.redis.client();
    const jobKeysLeft = (await redis2.keys(`chaos:dllm-chunks.dllm-code-small:${id}_*`)).length;
    redis2.disconnect();
    const redisAfter = await stack.redis.usedMemory();
    const audit = await auditBatch(stack.db, id);
    reads.sort((a, b) => a - b);
    recordCase(`${ITEMS}-item batch`, audit, completedS, {
      accept_s: Math.round(acceptedS * 10) / 10,
      result_lines: lines,
      status_reads: reads.length,
      status_read_p50_ms: Math.round(percentile(reads, 0.5)),
      status_read_p99_ms: Math.round(percentile(reads, 0.99)),
      redis_mb_before: Math.round(redisBefore / 2 ** 20),
      redis_mb_peak: Math.round(redisPeak / 2 ** 20),
      redis_mb_after: Math.round(redisAfter / 2 ** 20),
      job_keys_peak: jobKeysPeak,
      job_keys_left: jobKeysLeft,
    });
    expect(lines).toBe(ITEMS);
    expect(ordered).toBe(true);
    expect(audit).toMatchObject({
      status: 'completed',
      completed: ITEMS,
      writtenTwice: 0,
      neverEnded: 0,
    });
    expect(await openBatches(stack.db)).toBe(0);
    expect(jobKeysLeft).toBe(0); // finished chunk jobs are removed: Redis holds only what is still to do
    expect(redisAfter).toBeLessThan(redisBefore + 32 * 2 ** 20);
    expect(percentile(reads, 0.99)).toBeLessThan(2000);
  });
});
