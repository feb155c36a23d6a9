import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import OpenAI, { toFile } from 'openai';
import { ApiHarness } from './support/api-harness';
import { startWorker, waitFor, type WorkerHandle } from './support/worker-process';
import { listenOnFreePort } from './support/ports';

// The OpenAI-compatible surface, driven by the official `openai` SDK against the real API
// (listening on a port) and a real worker process: files, batches, completions, chat streams.
jest.setTimeout(240_000);

const MODEL = 'dllm-code-small';
const WEBHOOK_SECRET = `whsec_${Buffer.from('a webhook secret of thirty-two bytes!').toString('base64')}`;

interface Hook {
  body: string;
  headers: IncomingHttpHeaders;
}

/** Receives webhooks; answers 500 to the first delivery of each event, so retries are exercised. */
async function startReceiver(): Promise<{ server: Server; url: string; hooks: Hook[] }> {
  const hooks: Hook[] = [];
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      hooks.push({ body, headers: req.headers });
      const id = String(req.headers['webhook-id']);
      res.statusCode = seen.has(id) ? 204 : 500;
      seen.add(id);
      res.end();
    });
  });
  const port = await listenOnFreePort(server);
  return { server, url: `http://127.0.0.1:${port}/hooks/`, hooks };
}

const completionLine = (id: string, body: Record<string, unknown>) =>
  JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/completions',
    body: { model: MODEL, ...body },
  });

describe('the OpenAI SDK against the service (API + worker process)', () => {
  let api: ApiHarness;
  let worker: WorkerHandle;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let client: OpenAI;
  let otherTenant: OpenAI;
  let key: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    api = await ApiHarness.start({
      BATCH_CHUNK_SIZE: '4',
      WEBHOOK_ALLOWED_URLS: receiver.url,
      WEBHOOK_SECRET,
      WEBHOOK_BACKOFF_MS: '200',
      RECONCILE_INTERVAL_MS: '300',
    });
    key = await api.keyFor('acme');
    const server = api.app.getHttpServer() as Server;
    const baseURL = `http://127.0.0.1:${await listenOnFreePort(server)}/v1`;
    client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
    otherTenant = new OpenAI({ apiKey: await api.keyFor('globex'), baseURL, maxRetries: 0 });
    worker = startWorker({
      DATABASE_URL: api.config.DATABASE_URL,
      QUEUE_PREFIX: api.config.QUEUE_PREFIX,
      WORKER_METRICS_PORT: String(19800 + Math.floor(Math.random() * 90)),
      BATCH_CHUNK_SIZE: '4',
    });
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await api?.close();
    receiver?.server.close();
  });

  const finished = (id: string) =>
    waitFor(
      `batch ${id} to end`,
      async () => {
        const b = await client.batches.retrieve(id);
        return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : undefined;
      },
      180_000,
      250,
    );

  it('lists the served model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect(await client.models.retrieve(MODEL)).toMatchObject({ id: MODEL, object: 'model' });
  });

  it('uploads a batch file, runs it, and returns the output file; a signed webhook reports the end', async () => {
    const lines = Array.from({ length: 6 }, (_, i) =>
      completionLine(`req-${i}`, { prompt: `def handler_${i}(request):`, max_tokens: 8, seed: i }),
    );
    const text = lines.join('\n') + '\n';
    const file = await client.files.create({
      file: await toFile(Buffer.from(text), 'requests.jsonl'),
      purpose: 'batch',
    });
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      bytes: Buffer.byteLength(text),
    });
    expect(await (await client.files.content(file.id)).text()).toBe(text);
    expect((await client.files.retrieve(file.id)).filename).toBe('requests.jsonl');

    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/completions',
      completion_window: '24h',
      metadata: { run: 'sdk' },
      // extension: notified once the batch ends
      webhook_url: `${receiver.url}done`,
    } as OpenAI.BatchCreateParams);
    expect(created).toMatchObject({
      object: 'batch',
      input_file_id: file.id,
      endpoint: '/v1/completions',
      completion_window: '24h',
      metadata: { run: 'sdk' },
      request_counts: { total: 6 },
      output_file_id: null,
    });

    const done = await finished(created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
    expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
    expect(done.error_file_id).toBeNull();
    const output = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            custom_id: string;
            response: { status_code: number; body: OpenAI.Completion };
          },
      );
    expect(output.map((l) => l.custom_id)).toEqual(lines.map((_, i) => `req-${i}`));
    for (const line of output) {
      expect(line.response.status_code).toBe(200);
      expect(line.response.body).toMatchObject({ object: 'text_completion', model: MODEL });
      expect(typeof line.response.body.choices[0]!.text).toBe('string');
      expect(line.response.body.usage?.completion_tokens).toBe(8);
    }
    const outputFile = await client.files.retrieve(done.output_file_id!);
    expect(outputFile).toMatchObject({ purpose: 'batch_output' });
    expect(outputFile.bytes).toBe(
      Buffer.byteLength(await (await client.files.content(done.output_file_id!)).text()),
    );

    // at least once: the first delivery got a 500, the retry carries the same event id and signature scheme
    const hooks = await waitFor(
      'the webhook to be retried and accepted',
      async () => {
        const mine = receiver.hooks.filter((h) => h.body.includes(created.id));
        return mine.length >= 2 ? mine : undefined;
      },
      30_000,
    );
    expect(new Set(hooks.map((h) => h.headers['webhook-id']))).toEqual(
      new Set([`evt_${created.id}`]),
    );
    const event = (await client.webhooks.unwrap(
      hooks[1]!.body,
      hooks[1]!.headers,
      WEBHOOK_SECRET,
    )) as unknown as { type: string; data: { id: string; status: string } };
    expect(event).toMatchObject({
      type: 'batch.completed',
      data: { id: created.id, status: 'completed' },
    });
    await expect(
      client.webhooks.unwrap(
        hooks[1]!.body,
        hooks[1]!.headers as Record<string, string>,
        'whsec_' + Buffer.from('wrong secret, wrong secret!!').toString('base64'),
      ),
    ).rejects.toThrow(/signature/);
  });

  it('runs chat batches, and refuses a bad file with its problems by line', async () => {
    const chat = [0, 1].map((i) =>
      JSON.stringify({
        custom_id: `chat-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: {
          model: MODEL,
          messages: [
            { role: 'system', content: 'Write Python.' },
            { role: 'user', content: `def area_${i}(r):` },
          ],
          max_tokens: 8,
        },
      }),
    );
    const file = await client.files.create({
      file: await toFile(Buffer.from(chat.join('\n')), 'chat.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await finished(batch.id);
    const line = JSON.parse(
      (await (await client.files.content(done.output_file_id!)).text()).split('\n')[0]!,
    ) as {
      response: { body: OpenAI.ChatCompletion };
    };
    expect(line.response.body).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant' } }],
    });

    const bad = await client.files.create({
      file: await toFile(
        Buffer.from(
          [
            completionLine('a', { prompt: 'x', max_tokens: 8 }),
            '{oops',
            completionLine('c', { prompt: 'y', n: 3 }),
          ].join('\n'),
        ),
        'bad.jsonl',
      ),
      purpose: 'batch',
    });
    const refused = await client.batches
      .create({ input_file_id: bad.id, endpoint: '/v1/completions', completion_window: '24h' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    const details = (
      (refused as InstanceType<typeof OpenAI.APIError>).error as {
        details: { line: number; field: string }[];
      }
    ).details;
    expect(details).toEqual([
      expect.objectContaining({ line: 2, field: '(line)' }),
      expect.objectContaining({ line: 3, field: 'body.n' }),
    ]);
    // a chat file is not a completions batch
    await expect(
      client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/completions',
        completion_window: '24h',
      }),
    ).rejects.toThrow(/must be "\/v1\/completions", the batch's endpoint/);
  });

  it('lists batches page by page (after = last id), each in the shape it was created in', async () => {
    // a native batch among the OpenAI ones
    const native = await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send({ params: { gen_length: 4 }, items: [{ custom_id: 'n', prompt: 'x = ' }] })
      .expect(201);
    const ids: string[] = [];
    const pages: number[] = [];
    for await (const page of (await client.batches.list({ limit: 2 })).iterPages()) {
      pages.push(page.data.length);
      ids.push(...page.data.map((b) => b.id));
    }
    expect(pages.every((n) => n <= 2)).toBe(true);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe((native.body as { id: string }).id);
    const first = (await client.batches.list({ limit: 1 })).data[0] as unknown as Record<
      string,
      unknown
    >;
    expect(first).toHaveProperty('timing'); // native shape: ISO timestamps, timing
    const openai = (await client.batches.list({ limit: 10 })).data.find((b) => b.input_file_id);
    expect(typeof openai?.created_at).toBe('number'); // OpenAI shape: unix seconds
  });

  it('cancels a batch: running rows stop, finished ones are kept, the rest land in the error file', async () => {
    const lines = Array.from({ length: 24 }, (_, i) =>
      completionLine(`long-${i}`, { prompt: `class Model${i}:`, max_tokens: 96, policy: 'fixed' }),
    );
    const file = await client.files.create({
      file: await toFile(Buffer.from(lines.join('\n')), 'long.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/completions',
      completion_window: '24h',
    });
    await waitFor(
      'the batch to start',
      async () =>
        (
          await api.dataSource.query<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status = 'in_progress'`,
            [batch.id],
          )
        )[0]!.n > 0,
      60_000,
    );
    const cancelling = await client.batches.cancel(batch.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await finished(batch.id);
    expect(done.status).toBe('cancelled');
    expect(done.request_counts!.completed + done.request_counts!.failed).toBe(24);
    const errors = (await (await client.files.content(done.error_file_id!)).text())
      .trim()
      .split('\n');
    expect(errors.length).toBe(done.request_counts!.failed);
    expect(JSON.parse(errors[0]!)).toMatchObject({
      response: null,
      error: { code: 'batch_cancelled' },
    });
  });

  it('completes a prompt synchronously, as a non-streamed reply', async () => {
    const completion = await client.completions.create({
      model: MODEL,
      prompt: 'def fibonacci(n):',
      max_tokens: 12,
      seed: 3,
    });
    expect(completion).toMatchObject({ object: 'text_completion', model: MODEL });
    expect(completion.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(completion.usage).toMatchObject({
      completion_tokens:
        completion.choices[0]!.finish_reason === 'length' ? 12 : (expect.any(Number) as number),
    });
    const infill = await client.completions.create({
      model: MODEL,
      prompt: 'def add(a, b):\n    ',
      suffix: '\n',
      max_tokens: 6,
    });
    expect(infill.usage?.completion_tokens).toBe(6);
  });

  it('streams a chat completion: the deltas add up to the same text as the plain reply', async () => {
    const request = {
      model: MODEL,
      messages: [
        { role: 'system' as const, content: 'Complete the function.' },
        { role: 'user' as const, content: 'def is_even(n):' },
      ],
      max_tokens: 24,
      seed: 5,
    };
    const plain = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const contents = chunks
      .flatMap((c) => c.choices.map((ch) => ch.delta.content ?? ''))
      .filter(Boolean);
    expect(contents.join('')).toBe(plain.choices[0]!.message.content);
    expect(contents.length).toBeGreaterThan(1); // settled text went out as it grew, not at the end
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]!.finish_reason).toBe(
      plain.choices[0]!.finish_reason,
    );
    expect(chunks[chunks.length - 1]!.usage).toEqual(plain.usage);
  });

  it('streams the canvas as it denoises with diffusing: true', async () => {
    const request = { model: MODEL, prompt: 'import os\n', max_tokens: 16, seed: 9 };
    const plain = await client.completions.create(request);
    const stream = await client.completions.create({
      ...request,
      stream: true,
      diffusing: true,
    } as OpenAI.CompletionCreateParamsStreaming);
    const frames: string[] = [];
    for await (const chunk of stream)
      if (chunk.choices[0]?.text) frames.push(chunk.choices[0].text);
    expect(frames.length).toBeGreaterThan(2);
    expect(frames[0]).toContain('▒'); // still masked
    expect(frames[frames.length - 1]).toBe(plain.choices[0]!.text);
  });

  it('serves a completion ahead of a bulk batch that fills the worker', async () => {
    // 48 rows of 48 forwards each; the engine runs 16 at a time, so the bulk ends in 3 waves
    const bulk = await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send({
        params: { gen_length: 48, policy: 'fixed' },
        items: Array.from({ length: 48 }, (_, i) => ({
          custom_id: `b${i}`,
          prompt: `def f${i}(x):`,
        })),
      })
      .expect(201);
    const bulkId = (bulk.body as { id: string }).id;
    const count = async (status: string) =>
      (
        await api.dataSource.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status = $2`,
          [bulkId, status],
        )
      )[0]!.n;
    // more rows claimed than the engine runs at once: some wait in the engine
    await waitFor('the worker to be full', async () => (await count('in_progress')) > 20, 60_000);
    const t0 = Date.now();
    const completion = await client.completions.create({
      model: MODEL,
      prompt: 'x = ',
      max_tokens: 8,
    });
    const latency = Date.now() - t0;
    const bulkDone = await count('completed');
    console.log(
      `interactive latency under a 48-item bulk batch: ${latency} ms; bulk items completed by then: ${bulkDone}`,
    );
    expect(completion.choices[0]!.text).toEqual(expect.any(String));
    // it took the first free slot: done before the bulk's second wave (without priority it waited
    // behind every bulk row already in the engine, and ended with the second wave or later)
    expect(bulkDone).toBeLessThan(32);
    await client.batches.cancel(bulkId).catch(() => undefined); // not needed any more
  });

  it('keeps files and batches to their tenant, and deletes files', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(completionLine('t', { prompt: 'x' })), 't.jsonl'),
      purpose: 'batch',
    });
    await expect(otherTenant.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(otherTenant.files.content(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await otherTenant.files.list()).data).toEqual([]);
    expect((await client.files.list({ purpose: 'batch' })).data.map((f) => f.id)).toContain(
      file.id,
    );
    expect(await client.files.delete(file.id)).toEqual({
      id: file.id,
      object: 'file',
      deleted: true,
    });
    await expect(client.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
