import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { ConcurrencySlots } from '../apps/api/src/limits/key-slots';
import { ADMIN_KEY, ApiHarness, jsonBatch } from './support/api-harness';
import { waitFor } from './support/wait-for';
import { listenOnFreePort } from './support/ports';

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { index?: number; line?: number; field: string; message: string }[];
    retry_after_s?: number;
  };
}

/** Limits per API key, and text Postgres cannot store, against the whole API (real Postgres and Redis). */
describe('API limits and unstorable text', () => {
  let api: ApiHarness;
  let port: number;

  beforeAll(async () => {
    api = await ApiHarness.start({
      RATE_LIMIT_REQUESTS: '8',
      RATE_LIMIT_WINDOW_S: '60',
      MAX_CONCURRENT_UPLOADS: '1',
      MAX_SSE_STREAMS: '1',
      MAX_CANVAS_STREAMS: '1',
      MAX_CONCURRENT_COMPLETIONS: '1',
      SSE_POLL_MS: '50',
    });
    const server = api.app.getHttpServer() as Server;
    port = await listenOnFreePort(server);
  });

  afterAll(async () => {
    await api?.close();
  });

  const issue = async (tenant: string) => {
    const res = await api.http
      .post('/v1/admin/api-keys')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .send({ tenant, name: 'k' })
      .expect(201);
    return res.body as { id: string; key: string };
  };

  /** A request whose body is sent by the caller (to hold an upload open). */
  const open = (
    method: string,
    path: string,
    key: string,
    headers: Record<string, string> = {},
  ) => {
    let resolveResponse!: (r: IncomingMessage) => void;
    const response = new Promise<IncomingMessage>((r) => (resolveResponse = r));
    const req: ClientRequest = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { Authorization: `Bearer ${key}`, ...headers },
      },
      resolveResponse,
    );
    req.on('error', () => undefined);
    return { req, response };
  };
  const bodyOf = (res: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (text += c))
        .on('end', () => resolve(text));
    });

  it('rate limit: the request over RATE_LIMIT_REQUESTS gets 429 with Retry-After; other keys are not affected', async () => {
    const { key } = await issue('busy');
    const { key: other } = await issue('quiet');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (await api.http.get('/v1/batches').set('Authorization', `Bearer ${key}`)).status,
      );
    expect(statuses).toEqual(new Array(8).fill(200));
    const limited = await api.http
      .get('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((limited.body as ErrorBody).error).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/more than 8 requests in 60 s/) as unknown,
    });
    await api.http.get('/v1/batches').set('Authorization', `Bearer ${other}`).expect(200);
  });

  it('concurrent uploads: a second submission while one is still uploading gets 429; then it is free again', async () => {
    const { id, key } = await issue('uploader');
    const slots = api.app.get(ConcurrencySlots).byKind.uploads;
    const body = JSON.stringify(jsonBatch(3));
    const first = open('POST', '/v1/batches', key, {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
    });
    first.req.write(body.slice(0, 10)); // the rest comes later: the upload stays open
    await waitFor(
      'first upload holds its slot',
      async () => (await slots.inUse(id)) === 1,
      10_000,
      20,
    );
    const second = await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send(jsonBatch(1))
      .expect(429);
    expect((second.body as ErrorBody).error.message).toMatch(
      /already has 1 batch submission\(s\) in progress/,
    );
    expect(second.headers['retry-after']).toBe('1');
    first.req.end(body.slice(10));
    expect((await first.response).statusCode).toBe(201);
    await waitFor('slot released', async () => (await slots.inUse(id)) === 0, 10_000, 20);
    await api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send(jsonBatch(1))
      .expect(201);
  });

  it('progress streams: one per key here; a second gets 429 until the first closes', async () => {
    const { id, key } = await issue('watcher');
    const batch = (
      await api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${key}`)
        .send(jsonBatch(2))
        .expect(201)
    ).body as { id: string };
    const slots = api.app.get(ConcurrencySlots).byKind.streams;
    const first = open('GET', `/v1/batches/${batch.id}/events`, key);
    first.req.end();
    const stream = await first.response;
    expect(stream.statusCode).toBe(200);
    await waitFor('stream holds its slot', async () => (await slots.inUse(id)) === 1, 10_000, 20);
    const second = await api.http
      .get(`/v1/batches/${batch.id}/events`)
      .set('Authorization', `Bearer ${key}`)
      .expect(429);
    expect((second.body as ErrorBody).error.message).toMatch(
      /already has 1 progress stream\(s\) open/,
    );
    stream.destroy();
    await waitFor('slot released', async () => (await slots.inUse(id)) === 0, 10_000, 20);
  });

  it.each([
    ['canvas streams', 'canvases', /already has 1 canvas stream\(s\) open \(MAX_CANVAS_STREAMS\)/],
    [
      'sync completions',
      'completions',
      /already has 1 sync completion\(s\) waiting \(MAX_CONCURRENT_COMPLETIONS\)/,
    ],
  ] as const)(
    '%s: one per key here; a second gets 429 until the first closes',
    async (_name, kind, message) => {
      const { id, key } = await issue(`long-${kind}`);
      const batch = (
        await api.http
          .post('/v1/batches')
          .set('Authorization', `Bearer ${key}`)
          .send(jsonBatch(1))
          .expect(201)
      ).body as { id: string };
      const slots = api.app.get(ConcurrencySlots).byKind[kind];
      // no worker runs here: a completion waits (up to COMPLETION_TIMEOUT_MS), a canvas stays open
      const send = () =>
        kind === 'canvases'
          ? api.http.get(`/v1/batches/${batch.id}/canvas`).set('Authorization', `Bearer ${key}`)
          : api.http
              .post('/v1/completions')
              .set('Authorization', `Bearer ${key}`)
              .send({ prompt: 'def f(x):', max_tokens: 4 });
      const first =
        kind === 'canvases'
          ? open('GET', `/v1/batches/${batch.id}/canvas`, key)
          : open('POST', '/v1/completions', key, { 'Content-Type': 'application/json' });
      first.req.end(kind === 'canvases' ? undefined : '{"prompt":"def f(x):","max_tokens":4}');
      await waitFor(
        'the first holds its slot',
        async () => (await slots.inUse(id)) === 1,
        10_000,
        20,
      );
      const second = await send().expect(429);
      expect((second.body as ErrorBody).error.message).toMatch(message);
      first.req.destroy();
      await waitFor('slot released', async () => (await slots.inUse(id)) === 0, 10_000, 20);
    },
  );

  describe('text Postgres cannot store is refused with a 400 naming where it is', () => {
    let key: string;
    beforeAll(async () => {
      key = (await issue('texts')).key;
    });
    const post = (body: string, type = 'application/json') =>
      api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${key}`)
        .set('Content-Type', type)
        .send(body);

    it.each([
      [
        'a NUL in a prompt',
        '{"items":[{"custom_id":"a","prompt":"ok"},{"custom_id":"b","prompt":"a\\u0000b"}]}',
        { index: 1, field: 'prompt', message: /NUL character \(U\+0000\) at character 1/ },
      ],
      [
        'a lone high surrogate in a suffix',
        '{"items":[{"custom_id":"a","prefix":"x","suffix":"\\ud800"}]}',
        { index: 0, field: 'suffix', message: /lone surrogate \(U\+D800\)/ },
      ],
      [
        'a lone low surrogate in custom_id',
        '{"items":[{"custom_id":"\\udc00","prompt":"x"}]}',
        { index: 0, field: 'custom_id', message: /lone surrogate \(U\+DC00\)/ },
      ],
      [
        'a NUL in a stop string',
        '{"items":[{"custom_id":"a","prompt":"x","params":{"stop":["ok","\\u0000"]}}]}',
        { index: 0, field: 'params.stop.1', message: /NUL/ },
      ],
      [
        'a NUL in batch metadata',
        '{"metadata":{"k":"v\\u0000"},"items":[{"custom_id":"a","prompt":"x"}]}',
        { field: 'metadata.k', message: /NUL/ },
      ],
      [
        'a NUL in a metadata key',
        '{"metadata":{"k\\u0000":"v"},"items":[{"custom_id":"a","prompt":"x"}]}',
        { field: 'metadata.k\u0000', message: /field name contains a NUL/ },
      ],
    ])('%s', async (_name, body, problem) => {
      const res = await post(body).expect(400);
      const error = (res.body as ErrorBody).error;
      expect(error.code).toBe('invalid_batch');
      expect(error.details).toEqual([
        expect.objectContaining({
          ...problem,
          message: expect.stringMatching(problem.message) as unknown,
        }),
      ]);
    });

    it('a NUL in a JSONL line, by line number', async () => {
      const lines = [
        JSON.stringify({
          custom_id: 'a',
          method: 'POST',
          url: '/v1/completions',
          body: { prompt: 'x', max_tokens: 4 },
        }),
        '{"custom_id":"b","method":"POST","url":"/v1/completions","body":{"prompt":"a\\u0000","max_tokens":4}}',
      ];
      const res = await post(lines.join('\n'), 'application/x-ndjson').expect(400);
      expect((res.body as ErrorBody).error.details).toEqual([
        expect.objectContaining({ line: 2, field: 'body.prompt' }),
      ]);
    });

    it('an escaped backslash before u0000 is ordinary text and is accepted', async () => {
      await post('{"items":[{"custom_id":"a","prompt":"path\\\\u0000"}]}').expect(201);
    });

    it('a NUL in a query filter or an admin field: 400 invalid_text, not a 500', async () => {
      const q = await api.http
        .get('/v1/batches?metadata[k]=a%00b')
        .set('Authorization', `Bearer ${key}`)
        .expect(400);
      expect((q.body as ErrorBody).error).toMatchObject({
        code: 'invalid_text',
        message: expect.stringMatching(/^query\.metadata\[k\]: contains a NUL/) as unknown,
      });
      const admin = await api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .set('Content-Type', 'application/json')
        .send('{"tenant":"t","name":"a\\u0000"}')
        .expect(400);
      expect((admin.body as ErrorBody).error.details).toEqual([
        expect.objectContaining({ field: 'body.name' }),
      ]);
    });
  });

  it('malformed HTTP is answered in the JSON error format: 431 for huge headers', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/batches', headers: { 'X-Big': 'x'.repeat(20_000) } },
        (r) => void bodyOf(r).then((body) => resolve({ status: r.statusCode ?? 0, body })),
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toMatchObject({
      error: { code: 'request_header_fields_too_large' },
    });
  });
});
