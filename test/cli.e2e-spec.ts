import type { BatchView as Batch } from '@dllm/contract';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiHarness } from './support/api-harness';
import { runDllm, type CliRun as Run } from './support/dllm-cli';
import { listen } from './support/listening-api';
import { startWorker, waitFor, type WorkerHandle } from './support/worker-process';

// The `dllm` command as a user runs it (the package bin, from another directory) against the real
// API (Postgres, Redis) and a real worker process with the bundled model.
jest.setTimeout(180_000);

describe('dllm (CLI) against the API and a worker', () => {
  let api: ApiHarness;
  let worker: WorkerHandle;
  let url: string;
  let key: string;
  let dir: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ BATCH_CHUNK_SIZE: '4', SSE_POLL_MS: '100' });
    url = await listen(api);
    key = await api.keyFor('cli-spec');
    worker = startWorker({
      DATABASE_URL: api.config.DATABASE_URL,
      QUEUE_PREFIX: api.config.QUEUE_PREFIX,
      WORKER_METRICS_PORT: String(19800 + Math.floor(Math.random() * 90)),
      BATCH_CHUNK_SIZE: '4',
      // Rows longer than 48 tokens fail at this worker: a real worker-side failure to retry.
      ENGINE_MAX_BATCH_TOKENS: '48',
    });
    dir = mkdtempSync(join(tmpdir(), 'dllm-cli-'));
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await api?.close();
  });

  /** Runs `dllm ARGS` in a scratch directory with the API's address and key in the environment. */
  const dllm = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    runDllm(args, dir, { DLLM_API_URL: url, DLLM_API_KEY: key, ...env });

  const file = (name: string, lines: unknown[]): string => {
    const path = join(dir, name);
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return path;
  };

  const jsonLines = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('submit JSONL items --wait --out: prints the id, waits, writes results in order, exits 0', async () => {
    const input = file('items.jsonl', [
      { custom_id: 'fib', prompt: 'def fib(n):', gen_length: 8, policy: 'fixed' },
      { custom_id: 'fill', prefix: 'x = [', suffix: ']\n', gen_length: 4 },
      { custom_id: 'imp', prompt: 'import os', gen_length: 6, seed: 3 },
    ]);
    const run = await dllm([
      'submit',
      input,
      '--wait',
      '--out',
      'out.jsonl',
      '--metadata',
      'suite=cli',
    ]);
    expect(run).toMatchObject({ code: 0 });
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.stderr).toMatch(/submitted: batch .*, 3 items \(JSONL items\)/);
    expect(run.stderr).toMatch(/completed: 3\/3 completed, 0 failed/);
    expect(run.stderr).toMatch(/3 results -> out\.jsonl/);
    const results = jsonLines(readFileSync(join(dir, 'out.jsonl'), 'utf8'));
    expect(results.map((r) => r.custom_id)).toEqual(['fib', 'fill', 'imp']);
    expect(results.map((r) => r.tokens)).toEqual([8, 4, 6]);
    expect(results.every((r) => r.status === 'completed' && typeof r.output === 'string')).toBe(
      true,
    );

    const status = await dllm(['status', id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status\s+completed/);
    expect(status.stdout).toMatch(/items\s+3\/3 ended: 3 completed/);
    expect(status.stdout).toMatch(/metadata\s+suite=cli/);
  });

  it('the API takes the generate format as JSONL too (POST /v1/batches, x-ndjson); dllm waits on it', async () => {
    const lines = [
      { custom_id: 'n1', prompt: 'def add(a, b):', gen_length: 6, policy: 'fixed' },
      { custom_id: 'n2', prefix: 'x = [', suffix: ']\n', params: { gen_length: 4 } },
    ];
    const post = (text: string) =>
      fetch(`${url}/v1/batches?metadata[door]=jsonl`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/x-ndjson' },
        body: text,
      });
    const accepted = await post(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    expect(accepted.status).toBe(201);
    const batch = (await accepted.json()) as Batch & { metadata: Record<string, string> };
    expect(batch.metadata).toEqual({ door: 'jsonl' });
    expect(batch.request_counts.total).toBe(2);

    const waited = await dllm(['status', batch.id, '--wait']);
    expect(waited.code).toBe(0);
    const results = jsonLines((await dllm(['results', batch.id])).stdout);
    expect(results.map((r) => [r.custom_id, r.status, r.tokens])).toEqual([
      ['n1', 'completed', 6],
      ['n2', 'completed', 4],
    ]);

    // one format per file, refused by line with what was expected
    const mixed = await post(
      [
        JSON.stringify(lines[0]),
        JSON.stringify({ custom_id: 'o', method: 'POST', url: '/v1/completions', body: {} }),
      ].join('\n'),
    );
    expect(mixed.status).toBe(400);
    const refused = (await mixed.json()) as { error: { details: unknown[] } };
    expect(refused.error.details).toEqual([
      { line: 2, field: 'method', message: expect.stringMatching(/^mixes formats/) as string },
    ]);

    // the worker logs `time` as the API does: ISO-8601 UTC, not epoch milliseconds
    const logged = worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { time?: unknown });
    expect(logged.length).toBeGreaterThan(0);
    for (const l of logged) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('submit a JSON body and OpenAI batch JSONL; results to stdout in either format; list with filters', async () => {
    const body = join(dir, 'batch.json');
    writeFileSync(
      body,
      JSON.stringify({
        params: { gen_length: 4 },
        items: [{ custom_id: 'j1', prompt: 'class A:' }],
      }),
    );
    const json = await dllm(['submit', body, '--json', '--metadata', 'suite=formats']);
    expect(json.code).toBe(0);
    const made = JSON.parse(json.stdout) as Batch;
    expect(made.request_counts.total).toBe(1);

    const openai = file('openai.jsonl', [
      {
        custom_id: 'o1',
        method: 'POST',
        url: '/v1/completions',
        body: { model: 'dllm-code-small', prompt: 'def g():', max_tokens: 5 },
      },
      {
        custom_id: 'o2',
        method: 'POST',
        url: '/v1/completions',
        body: { model: 'dllm-code-small', prompt: 'def h():', max_tokens: 3 },
      },
    ]);
    const sent = await dllm([
      'submit',
      openai,
      '--completion-window',
      '2h',
      '--metadata',
      'suite=formats',
    ]);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toMatch(/2 items \(OpenAI batch JSONL\)/);
    const openaiId = sent.stdout.trim();

    expect((await dllm(['status', made.id, '--wait', '--no-progress'])).code).toBe(0);
    expect((await dllm(['status', openaiId, '--wait', '--json'])).code).toBe(0);
    const lines = jsonLines((await dllm(['results', openaiId, '--format', 'openai'])).stdout);
    expect(lines).toEqual([
      expect.objectContaining({
        custom_id: 'o1',
        response: expect.objectContaining({ status_code: 200 }) as unknown,
      }),
      expect.objectContaining({
        custom_id: 'o2',
        response: expect.objectContaining({ status_code: 200 }) as unknown,
      }),
    ]);

    const listed = await dllm([
      'list',
      '--metadata',
      'suite=formats',
      '--json',
      '--all',
      '--limit',
      '1',
    ]);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { data: Batch[] }).data.map((b) => b.id)).toEqual([
      openaiId,
      made.id,
    ]);
    const table = await dllm(['list', '--status', 'completed', '--metadata', 'suite=formats']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID\s+STATUS\s+ITEMS\s+FAILED\s+MODEL\s+CREATED\s+TOK\/S$/,
    );
    expect(table.stdout).toContain(openaiId);
    expect((await dllm(['list', '--status', 'bogus'])).code).toBe(4);
  });

  it('a batch with failed items exits 1 after --wait; retry makes a linked batch of just those items', async () => {
    const input = file('mixed.jsonl', [
      { custom_id: 'ok-1', prompt: 'def a():', gen_length: 4 },
      { custom_id: 'too-long', prompt: 'def b():', gen_length: 64 },
      { custom_id: 'ok-2', prompt: 'def c():', gen_length: 4 },
    ]);
    const run = await dllm(['submit', input, '--wait']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/completed: 2\/3 completed, 1 failed/); // the batch ended; one item failed
    const id = run.stdout.trim();

    const retry = await dllm(['retry', id, '--idempotency-key', `retry-${id}`, '--json']);
    expect(retry.code).toBe(0);
    const retried = JSON.parse(retry.stdout) as Batch;
    expect(retried).toMatchObject({ retry_of: id, request_counts: { total: 1 } });
    const again = await dllm(['retry', id, '--idempotency-key', `retry-${id}`]);
    expect(again).toMatchObject({ code: 0, stdout: `${retried.id}\n` });
    expect(again.stderr).toMatch(/already retried/);

    const waited = await dllm(['status', retried.id, '--wait', '--json']);
    expect(waited.code).toBe(1); // the same worker fails it again
    const results = jsonLines((await dllm(['results', retried.id])).stdout);
    expect(results).toEqual([expect.objectContaining({ custom_id: 'too-long', status: 'failed' })]);
    expect(String(results[0]!.error)).toMatch(/exceeds the batch token limit 48/);

    const clean = await dllm([
      'submit',
      file('clean.jsonl', [{ custom_id: 'c', prompt: 'x = 1', gen_length: 2 }]),
      '--wait',
    ]);
    expect(clean.code).toBe(0);
    const nothing = await dllm(['retry', clean.stdout.trim()]);
    expect(nothing.code).toBe(4);
    expect(nothing.stderr).toMatch(/no failed or expired items to retry/);
  });

  it('cancel stops a running batch; waiting on it exits 1; cancelling an ended batch is refused (4)', async () => {
    const items = Array.from({ length: 24 }, (_, i) => ({
      custom_id: `k${i}`,
      prompt: `def k${i}():`,
      gen_length: 32,
      policy: 'fixed',
    }));
    const id = (await dllm(['submit', file('long.jsonl', items)])).stdout.trim();
    await waitFor(
      'batch running',
      async () =>
        (
          (await api.http.get(`/v1/batches/${id}`).set('Authorization', `Bearer ${key}`))
            .body as Batch
        ).status === 'in_progress',
      60_000,
      100,
    );

    const timedOut = await dllm(['status', id, '--wait', '--timeout', '0.5']);
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toMatch(
      /gave up waiting for batch .* after 0.5s \(in_progress, .*\); it goes on/,
    );

    const cancel = await dllm(['cancel', id]);
    expect(cancel).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect(cancel.stderr).toMatch(/is (cancelling|cancelled)/);
    const waited = await dllm(['status', id, '--wait', '--json']);
    expect(waited.code).toBe(1);
    expect((JSON.parse(waited.stdout) as Batch).status).toBe('cancelled');
    expect((await dllm(['cancel', id])).code).toBe(0); // already cancelled: a no-op

    const done = (
      await dllm([
        'submit',
        file('one.jsonl', [{ custom_id: 'z', prompt: 'y = 2', gen_length: 2 }]),
        '--wait',
      ])
    ).stdout.trim();
    const refused = await dllm(['cancel', done]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/already completed/);
  });

  it('exit codes for usage, auth, refused and unreachable', async () => {
    const bad = file('bad-param.jsonl', [
      { custom_id: 'a', prompt: 'x' },
      { custom_id: 'b', prompt: 'y', top_p: 3 },
    ]);
    const refused = await dllm(['submit', bad]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/line 2: .*top_p/);

    expect((await dllm(['submit', 'missing.jsonl'])).code).toBe(2);
    writeFileSync(join(dir, 'garbage.jsonl'), '{"custom_id":"a","prompt":"x"}\nnot json\n');
    const garbage = await dllm(['submit', 'garbage.jsonl']);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/line 2: not valid JSON/);
    expect((await dllm(['status'])).code).toBe(2);
    expect((await dllm(['frobnicate'])).code).toBe(2);

    expect((await dllm(['list'], { DLLM_API_KEY: 'dllm_not-a-key' })).code).toBe(3);
    expect((await dllm(['list'], { DLLM_API_KEY: '' })).code).toBe(3);
    expect((await dllm(['status', '00000000-0000-4000-8000-000000000000'])).code).toBe(4);
    const down = await dllm(['list', '--api-url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/cannot reach the API at http:\/\/127\.0\.0\.1:9/);
  });
});
