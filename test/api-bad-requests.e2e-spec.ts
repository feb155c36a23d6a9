import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'supertest';
import { ADMIN_KEY, ApiHarness, jsonBatch } from './support/api-harness';
import { listenOnFreePort } from './support/ports';

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { index?: number; line?: number; field: string; message: string }[];
    problem_count?: number;
  };
}

interface Answer {
  status: number;
  body: unknown;
}

type TestRequest = (api: ApiHarness, key: string) => Test;
type Request = TestRequest | ((api: ApiHarness, key: string) => Promise<Answer>);

const line = (
  custom_id: string,
  body: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) =>
  JSON.stringify({
    custom_id,
    method: 'POST',
    url: '/v1/completions',
    body: { model: 'dllm-code-small', ...body },
    ...extra,
  });

const post =
  (body: unknown, type = 'application/json'): TestRequest =>
  (api, key) =>
    api.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', type)
      .send(typeof body === 'string' ? body : JSON.stringify(body));

const jsonl = (lines: string[]): TestRequest => post(lines.join('\n'), 'application/x-ndjson');

/** Raw bytes over plain node:http (supertest would re-encode a body that is not valid UTF-8). */
const postBytes =
  (bytes: number[], type: string): Request =>
  async (api, key) => {
    const server = api.app.getHttpServer() as Server;
    const port = server.listening
      ? (server.address() as AddressInfo).port
      : await listenOnFreePort(server);
    return new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/v1/batches',
          headers: { 'Content-Type': type, Authorization: `Bearer ${key}` },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }),
          );
        },
      );
      req.on('error', reject);
      req.end(Uint8Array.from(bytes));
    });
  };

const get =
  (path: string): TestRequest =>
  (api, key) =>
    api.http.get(path).set('Authorization', `Bearer ${key}`);

const item = (fields: Record<string, unknown>) => ({
  items: [{ custom_id: 'a', prompt: 'x = ', ...fields }],
});

const UNKNOWN_ID = '3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

/**
 * Each bad request gets a 4xx whose message names the problem (field, item index or line),
 * never a 500, and the process keeps serving.
 */
const CASES: [name: string, request: Request, status: number, expected: RegExp][] = [
  [
    'no body and no Content-Type',
    (api, key) => api.http.post('/v1/batches').set('Authorization', `Bearer ${key}`),
    415,
    /missing Content-Type/,
  ],
  [
    'a form body',
    post('a=1', 'application/x-www-form-urlencoded'),
    415,
    /application\/x-www-form-urlencoded is not accepted/,
  ],
  [
    'a charset other than UTF-8',
    post(jsonBatch(1), 'application/json; charset=latin1'),
    415,
    /charset latin1/,
  ],
  ['malformed JSON', post('{"items": [', 'application/json'), 400, /not valid JSON/],
  [
    'bytes that are not UTF-8',
    postBytes([0x7b, 0xff, 0x7d], 'application/json'),
    400,
    /not valid UTF-8/,
  ],
  ['a JSON array body', post([1, 2]), 400, /must be a JSON object/],
  ['no items', post({ model: 'dllm-code-small' }), 400, /"field":"items","message":"is required/],
  [
    'items not a list',
    post({ items: { a: 1 } }),
    400,
    /"field":"items","message":"must be an array/,
  ],
  ['an empty batch', post({ items: [] }), 400, /at least 1 item/],
  [
    'more items than MAX_BATCH_ITEMS',
    post(jsonBatch(201)),
    400,
    /at most 200 items per batch \(got 201\)/,
  ],
  [
    'an unknown batch field',
    post({ ...jsonBatch(1), priority: 'high' }),
    400,
    /"field":"priority","message":"unknown field/,
  ],
  [
    'an item that is not an object',
    post({ items: ['hello'] }),
    400,
    /"index":0,"field":"\(item\)"/,
  ],
  [
    'an item without custom_id',
    post({ items: [{ prompt: 'x' }] }),
    400,
    /"index":0,"field":"custom_id","message":"is required"/,
  ],
  [
    'a custom_id of 65 characters',
    post(item({ custom_id: 'x'.repeat(65) })),
    400,
    /"field":"custom_id","message":"must be 1 to 64 characters \(got 65\)"/,
  ],
  [
    'a numeric custom_id',
    post(item({ custom_id: 7 })),
    400,
    /"field":"custom_id","message":"must be a string/,
  ],
  [
    'a duplicate custom_id',
    post({
      items: [
        { custom_id: 'a', prompt: 'x' },
        { custom_id: 'a', prompt: 'y' },
      ],
    }),
    400,
    /"index":1,"field":"custom_id","message":"duplicate custom_id \\"a\\" \(first used at items\[0\]\)"/,
  ],
  [
    'an item with no prompt',
    post({ items: [{ custom_id: 'a' }] }),
    400,
    /"field":"prompt","message":"is required/,
  ],
  ['prompt and prefix together', post(item({ prefix: 'a', suffix: 'b' })), 400, /not both/],
  [
    'a prefix without a suffix',
    post({ items: [{ custom_id: 'a', prefix: 'x' }] }),
    400,
    /"field":"suffix","message":"is required with prefix/,
  ],
  [
    'a prompt that is not a string',
    post(item({ prompt: ['a', 'b'] })),
    400,
    /"field":"prompt","message":"must be a string \(got an array\)"/,
  ],
  [
    'an unknown item field',
    post(item({ temperature: 0.5 })),
    400,
    /"index":0,"field":"temperature","message":"unknown field/,
  ],
  [
    'a misspelt parameter',
    post(item({ params: { temprature: 0.5 } })),
    400,
    /"field":"params.temprature","message":"unknown field"/,
  ],
  ['gen_length 0', post(item({ params: { gen_length: 0 } })), 400, /"field":"params.gen_length"/],
  [
    'a temperature that is a string',
    post(item({ params: { temperature: 'hot' } })),
    400,
    /"field":"params.temperature"/,
  ],
  [
    'block_length above gen_length',
    post(item({ params: { gen_length: 8, block_length: 16 } })),
    400,
    /"field":"params.block_length","message":"must be <= gen_length \(8\)"/,
  ],
  [
    'an unknown policy in the batch defaults',
    post({ ...jsonBatch(2), params: { policy: 'greedy' } }),
    400,
    /"field":"params.policy"/,
  ],
  [
    'a prompt too long for the model',
    post(item({ prompt: 'zq'.repeat(400) })),
    400,
    /"field":"prompt","message":"prompt is (at least )?\d+ tokens; with gen_length 64 that is \d+ > the model's max length 256"/,
  ],
  [
    'gen_length above the model length',
    post(item({ params: { gen_length: 300 } })),
    400,
    /"field":"params.gen_length","message":"must be <= the model's max length 256"/,
  ],
  [
    'a model that is not served',
    post({ ...jsonBatch(1), model: 'gpt-4' }),
    400,
    /model \\"gpt-4\\" is not served here; available: dllm-code-small/,
  ],
  [
    'a metadata value that is not a string',
    post({ ...jsonBatch(1), metadata: { n: 1 } }),
    400,
    /"field":"metadata.n","message":"must be a string/,
  ],
  [
    'more than 16 metadata keys',
    post({
      ...jsonBatch(1),
      metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])),
    }),
    400,
    /at most 16 keys \(got 17\)/,
  ],
  [
    'a completion window under a minute',
    post({ ...jsonBatch(1), completion_window: 10 }),
    400,
    /"field":"completion_window","message":"10 seconds is outside 60 to 604800 seconds"/,
  ],
  [
    'a completion window that is not a duration',
    post({ ...jsonBatch(1), completion_window: 'soon' }),
    400,
    /"field":"completion_window"/,
  ],
  [
    'a JSON upload with query options',
    (api, key) => post(jsonBatch(1))(api, key).query({ completion_window: '1h' }),
    400,
    /JSON body carries its own options/,
  ],
  [
    'JSONL: a line that is not JSON',
    jsonl([line('a', { prompt: 'x' }), '{nope']),
    400,
    /"line":2,"field":"\(line\)","message":"not valid JSON/,
  ],
  [
    'JSONL: another endpoint',
    jsonl([line('a', { prompt: 'x' }, { url: '/v1/embeddings' })]),
    400,
    /"line":1,"field":"url","message":"must be \\"\/v1\/completions\\" or \\"\/v1\/chat\/completions\\"/,
  ],
  [
    'JSONL: method GET',
    jsonl([line('a', { prompt: 'x' }, { method: 'GET' })]),
    400,
    /"line":1,"field":"method"/,
  ],
  [
    'JSONL: n > 1',
    jsonl([line('a', { prompt: 'x', n: 2 })]),
    400,
    /"field":"body.n","message":"is not supported by this service"/,
  ],
  [
    'JSONL: a prompt list',
    jsonl([line('a', { prompt: ['x', 'y'] })]),
    400,
    /"field":"body.prompt","message":"must be a string \(one prompt per line/,
  ],
  [
    'JSONL: max_tokens 0',
    jsonl([line('a', { prompt: 'x' }), line('b', { prompt: 'x', max_tokens: 0 })]),
    400,
    /"line":2,"field":"body.max_tokens"/,
  ],
  [
    'JSONL: max_tokens and gen_length',
    jsonl([line('a', { prompt: 'x', max_tokens: 8, gen_length: 8 })]),
    400,
    /give max_tokens or gen_length, not both/,
  ],
  ['JSONL: no lines at all', jsonl(['', '  ']), 400, /no request lines/],
  [
    'JSONL: a line without body',
    jsonl([JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/completions' })]),
    400,
    /"line":1,"field":"body","message":"is required"/,
  ],
  [
    'JSONL: an unknown query option',
    (api, key) =>
      post(line('a', { prompt: 'x' }), 'application/x-ndjson')(api, key).query({
        priority: 'high',
      }),
    400,
    /"field":"priority","message":"unknown query parameter/,
  ],
  [
    'an Idempotency-Key of 256 characters',
    (api, key) => post(jsonBatch(1))(api, key).set('Idempotency-Key', 'k'.repeat(256)),
    400,
    /Idempotency-Key must be 1 to 255/,
  ],
  [
    'a body over API_BODY_LIMIT_MB',
    post({ items: [{ custom_id: 'a', prompt: 'x'.repeat(1_200_000) }] }),
    413,
    /larger than the 1 MiB limit \(API_BODY_LIMIT_MB\)/,
  ],
  [
    'a batch id that is not a UUID',
    get('/v1/batches/batch-1'),
    400,
    /batch id \\"batch-1\\" is not a UUID/,
  ],
  [
    'a batch that does not exist',
    get(`/v1/batches/${UNKNOWN_ID}`),
    404,
    new RegExp(`batch ${UNKNOWN_ID} not found`),
  ],
  ['a path with broken percent-encoding', get('/v1/batches/%ZZ'), 400, /"code":"bad_request"/],
  [
    'history: an unknown status',
    get('/v1/batches?status=done'),
    400,
    /"field":"status","message":"unknown status \\"done\\"/,
  ],
  [
    'history: limit 0',
    get('/v1/batches?limit=0'),
    400,
    /"field":"limit","message":"must be a whole number from 1 to 100/,
  ],
  [
    'history: a forged cursor',
    get('/v1/batches?cursor=abc'),
    400,
    /"field":"cursor","message":"is not a cursor this API returned/,
  ],
  [
    'history: a date that is not a date',
    get('/v1/batches?created_after=yesterday'),
    400,
    /"field":"created_after"/,
  ],
  [
    'history: an unknown parameter',
    get('/v1/batches?colour=red'),
    400,
    /"field":"colour","message":"unknown query parameter/,
  ],
  [
    'items of a batch that does not exist',
    get(`/v1/batches/${UNKNOWN_ID}/items`),
    404,
    /not found/,
  ],
  [
    'results of a batch that does not exist',
    get(`/v1/batches/${UNKNOWN_ID}/results`),
    404,
    /not found/,
  ],
  ['an unknown route', get('/v1/nope'), 404, /no route GET \/v1\/nope/],
  [
    'an unknown method on a known path',
    (api, key) => api.http.delete('/v1/batches').set('Authorization', `Bearer ${key}`),
    404,
    /no route DELETE \/v1\/batches/,
  ],
  [
    'admin: malformed JSON',
    (api) =>
      api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .set('Content-Type', 'application/json')
        .send('{"tenant":'),
    400,
    /"code":"invalid_json"/,
  ],
  [
    'admin: a tenant with spaces',
    (api) =>
      api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({ tenant: 'a b', name: 'x' }),
    400,
    /"field":"tenant"/,
  ],
  [
    'admin: no body',
    (api) => api.http.post('/v1/admin/api-keys').set('Authorization', `Bearer ${ADMIN_KEY}`),
    400,
    /tenant/,
  ],
  [
    'admin: revoking a key id that is not a UUID',
    (api) => api.http.delete('/v1/admin/api-keys/k1').set('Authorization', `Bearer ${ADMIN_KEY}`),
    400,
    /api key id \\"k1\\" is not a UUID/,
  ],
];

describe('bad requests', () => {
  let api: ApiHarness;
  let key: string;
  let batchId: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ MAX_BATCH_ITEMS: '200', API_BODY_LIMIT_MB: '1' });
    key = await api.keyFor('acme');
    const res = await post(jsonBatch(2))(api, key).expect(201);
    batchId = (res.body as { id: string }).id;
  });

  afterAll(async () => {
    await api?.close();
  });

  it('covers at least 30 distinct bad requests', () => {
    expect(new Set(CASES.map(([name]) => name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES.map(([name, request, status, expected]) => ({ name, request, status, expected })))(
    '$name -> $status naming the problem',
    async ({ request, status, expected }) => {
      const res = await request(api, key);
      expect(res.status).toBe(status);
      const body = res.body as ErrorBody;
      expect(body.error.code).toMatch(/^[a-z_]+$/);
      expect(typeof body.error.message).toBe('string');
      expect(JSON.stringify(body.error)).toMatch(expected);
    },
  );

  it('filters on a real batch are checked too', async () => {
    const items = await get(`/v1/batches/${batchId}/items?status=done`)(api, key).expect(400);
    expect(JSON.stringify(items.body)).toMatch(/unknown status \\"done\\"/);
    const results = await get(`/v1/batches/${batchId}/results?format=csv`)(api, key).expect(400);
    expect(JSON.stringify(results.body)).toMatch(/must be \\"default\\" or \\"openai\\"/);
  });

  it('lists every problem of a batch, the first 100 in details, with the total count', async () => {
    const body = {
      items: Array.from({ length: 150 }, (_, i) => ({
        custom_id: `r${i}`,
        prompt: 'x',
        params: { top_p: 2 },
      })),
    };
    const res = await post(body)(api, key).expect(400);
    const error = (res.body as ErrorBody).error;
    expect(error.problem_count).toBe(150);
    expect(error.details).toHaveLength(100);
    expect(error.details![99]).toEqual({
      index: 99,
      field: 'params.top_p',
      message: expect.stringMatching(/<=1/) as string,
    });
    expect(error.message).toMatch(
      /^150 problems in the batch, nothing was accepted \(first: items\[0\]: params.top_p: /,
    );
  });

  it('accepts nothing from a batch with one bad item', async () => {
    const before = await api.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM batches`,
    );
    await post({ items: [...jsonBatch(3).items, { custom_id: 'bad' }] })(api, key).expect(400);
    const after = await api.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM batches`,
    );
    expect(after).toEqual(before);
  });

  it('still serves a good request after all of that', async () => {
    await api.http.get('/healthz').expect(200);
    const res = await post(jsonBatch(5))(api, key).expect(201);
    expect(res.body).toMatchObject({ status: 'queued', request_counts: { total: 5 } });
  });
});
