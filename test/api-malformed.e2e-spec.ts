import { connect } from 'node:net';
import type { Server } from 'node:http';
import { ADMIN_KEY, ApiHarness } from './support/api-harness';
import { listenOnFreePort } from './support/ports';

/**
 * More than a hundred malformed requests, built from categories (types, sizes, encodings, NUL
 * and lone surrogates anywhere, JSONL breakage, huge headers and bodies, broken HTTP), sent as
 * raw bytes: every one gets a 4xx whose JSON body says what is wrong, none a 5xx, and the
 * process serves on with its memory bounded.
 */

interface Answer {
  status: number;
  text: string;
}

let port = 0;

jest.setTimeout(120_000);

/** Sends raw bytes on a fresh connection; the answer is read until the server closes it. */
function raw(
  request: Buffer | string,
  opts: { thenSend?: Buffer; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer in time'));
    }, opts.timeoutMs ?? 30_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined); // a server that stops reading a huge body resets: fine
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const bodyStart = text.indexOf('\r\n\r\n');
      let body = bodyStart >= 0 ? text.slice(bodyStart + 4) : '';
      if (/transfer-encoding: chunked/i.test(text.slice(0, bodyStart))) body = unchunk(body);
      resolve({ status, text: body });
    });
    socket.write(request);
    if (opts.thenSend) socket.write(opts.thenSend);
  });
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
}

let key = '';

function http(
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const bytes =
    body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const all: Record<string, string> = {
    Host: 'localhost',
    Connection: 'close',
    Authorization: `Bearer ${key}`,
    ...headers,
  };
  if (body !== undefined && !('Transfer-Encoding' in all))
    all['Content-Length'] = String(bytes.length);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return raw(Buffer.concat([Buffer.from(head, 'latin1'), bytes]));
}

const json = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
const postJson =
  (body: unknown, type = 'application/json') =>
  () =>
    http('POST', '/v1/batches', json(body), { 'Content-Type': type });
const postBytes =
  (bytes: number[] | Buffer, type = 'application/json') =>
  () =>
    http('POST', '/v1/batches', Buffer.from(bytes), { 'Content-Type': type });
const jsonl = (lines: string[]) => postJson(lines.join('\n'), 'application/x-ndjson');
const line = (body: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: 'a',
    method: 'POST',
    url: '/v1/completions',
    body: { prompt: 'x', ...body },
    ...extra,
  });
const item = (fields: Record<string, unknown>) => ({
  items: [{ custom_id: 'a', prompt: 'x = ', ...fields }],
});

type Case = [name: string, send: () => Promise<Answer>, expected?: RegExp];
const cases: Case[] = [];

// --- types, field by field -----------------------------------------------------------------
const WRONG = { number: 7, boolean: true, null: null, array: ['x'], object: { a: 1 } } as const;
for (const field of ['custom_id', 'prompt', 'prefix', 'suffix', 'params']) {
  for (const [kind, value] of Object.entries(WRONG)) {
    if (field === 'params' && kind === 'object') continue; // an object is what params is
    const fields =
      field === 'suffix'
        ? { prompt: undefined, prefix: 'p', suffix: value }
        : field === 'prefix'
          ? { prompt: undefined, prefix: value, suffix: 's' }
          : { [field]: value };
    cases.push([`items[0].${field} is ${kind}`, postJson(item(fields)), new RegExp(field)]);
  }
}
for (const [field, values] of Object.entries({
  model: [7, true, ['m'], 'no-such-model'],
  params: [7, 'x', ['p']],
  metadata: [7, 'x', ['m'], { k: 7 }],
  completion_window: [true, 'soon', -5, 1e12, '99999999d'],
  items: [7, 'x', {}, null],
})) {
  for (const value of values)
    cases.push([
      `${field} = ${JSON.stringify(value)}`,
      postJson({ items: [{ custom_id: 'a', prompt: 'x' }], [field]: value }),
      new RegExp(field),
    ]);
}

// --- generation parameters out of range ------------------------------------------------------
for (const [param, value] of [
  ['gen_length', -1],
  ['gen_length', 0],
  ['gen_length', 1e9],
  ['gen_length', 1.5],
  ['gen_length', '8'],
  ['temperature', -1],
  ['temperature', 'hot'],
  ['top_p', 2],
  ['top_k', -3],
  ['seed', -1],
  ['seed', 2 ** 40],
  ['policy', 'greedy'],
  ['threshold', 2],
  ['tokens_per_step', 0],
  ['stop', [1, 2]],
  ['stop', 'x'.repeat(10_000)],
  ['max_steps', 0],
  ['block_length', 1000],
  ['intermediate_every', -1],
  ['entropy_budget', 'x'],
  ['budget', 'turbo'],
  ['deadline', 'tomorrow'],
  ['deadline', '400d'],
  ['deadline', '2001-01-01T00:00:00Z'],
  ['quality_floor', 0.95],
] as const) {
  cases.push([
    `params.${param} = ${JSON.stringify(value).slice(0, 20)}`,
    postJson(item({ params: { [param]: value } })),
    new RegExp(`params\\.${param}`),
  ]);
}

// --- encodings -----------------------------------------------------------------------------
const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];
for (const [name, bytes] of [
  ['a lone 0xFF byte', [0xff]],
  ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
  ['a lone continuation byte', [0x80]],
  ['a truncated 3-byte sequence', [0xe2, 0x82]],
  ['a CESU-8 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a 5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
] as [string, number[]][]) {
  cases.push([
    `a body with ${name}`,
    postBytes([...utf8('{"items":[{"custom_id":"a","prompt":"'), ...bytes, ...utf8('"}]}')]),
    /not valid UTF-8/,
  ]);
}
cases.push([
  'a UTF-16 body declared as such',
  postBytes(Buffer.from('{"items":[]}', 'utf16le'), 'application/json; charset=utf-16'),
  /charset utf-16/,
]);
cases.push([
  'a latin1 charset',
  postJson(item({}), 'application/json; charset=latin1'),
  /charset latin1/,
]);
cases.push([
  'garbage after the JSON',
  postJson(`${JSON.stringify(item({}))} trailing`),
  /not valid JSON/,
]);
cases.push([
  'a raw NUL byte inside a JSON string',
  postBytes([...utf8('{"items":[{"custom_id":"a","prompt":"a'), 0, ...utf8('b"}]}')]),
  /not valid JSON/,
]);

// --- NUL and lone surrogates anywhere --------------------------------------------------------
for (const [where, body] of [
  ['custom_id', '{"items":[{"custom_id":"a\\u0000","prompt":"x"}]}'],
  ['prompt', '{"items":[{"custom_id":"a","prompt":"\\u0000"}]}'],
  ['prefix', '{"items":[{"custom_id":"a","prefix":"\\ud83d","suffix":"x"}]}'],
  ['suffix', '{"items":[{"custom_id":"a","prefix":"x","suffix":"\\udfff"}]}'],
  ['item params.stop', '{"items":[{"custom_id":"a","prompt":"x","params":{"stop":["\\u0000"]}}]}'],
  ['batch params.stop', '{"params":{"stop":["\\ud800"]},"items":[{"custom_id":"a","prompt":"x"}]}'],
  ['metadata value', '{"metadata":{"k":"\\u0000"},"items":[{"custom_id":"a","prompt":"x"}]}'],
  ['metadata key', '{"metadata":{"\\udc00":"v"},"items":[{"custom_id":"a","prompt":"x"}]}'],
  ['model', '{"model":"m\\u0000","items":[{"custom_id":"a","prompt":"x"}]}'],
  [
    'completion_window',
    '{"completion_window":"24h\\u0000","items":[{"custom_id":"a","prompt":"x"}]}',
  ],
  ['an unknown field name', '{"items":[{"custom_id":"a","prompt":"x","\\u0000":1}]}'],
  [
    'the second of many items',
    `{"items":[{"custom_id":"a","prompt":"x"},{"custom_id":"b","prompt":"\\ud800\\ud800"}]}`,
  ],
] as [string, string][]) {
  cases.push([`a NUL or lone surrogate in ${where}`, postJson(body), /NUL|surrogate/]);
}
cases.push([
  'a NUL in a JSONL prompt',
  jsonl([
    line({ prompt: 'ok' }, { custom_id: 'a' }),
    '{"custom_id":"b","method":"POST","url":"/v1/completions","body":{"prompt":"\\u0000"}}',
  ]),
  /"line":2/,
]);
cases.push([
  'a lone surrogate in a JSONL custom_id',
  jsonl(['{"custom_id":"\\ud800","method":"POST","url":"/v1/completions","body":{"prompt":"x"}}']),
  /surrogate/,
]);
for (const query of [
  'status=%00',
  'metadata[k]=%00',
  'model=a%00',
  'cursor=%00',
  'created_after=%00',
  'metadata[%00]=v',
]) {
  cases.push([
    `a NUL in the history query ${query}`,
    () => http('GET', `/v1/batches?${query}`),
    /NUL|query|cursor|created_after|status|model|metadata/,
  ]);
}
cases.push(['a NUL in a batch id', () => http('GET', '/v1/batches/%00'), /batch id|not found/]);
cases.push([
  'a NUL in an items query',
  () => http('GET', '/v1/batches/3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/items?status=%00'),
  /NUL|status|not found/,
]);
cases.push([
  'a NUL in an admin key name',
  () =>
    http('POST', '/v1/admin/api-keys', '{"tenant":"t","name":"\\u0000"}', {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${ADMIN_KEY}`,
    }),
  /NUL/,
]);
cases.push([
  'a lone surrogate in an admin tenant',
  () =>
    http('POST', '/v1/admin/api-keys', '{"tenant":"\\ud800","name":"n"}', {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${ADMIN_KEY}`,
    }),
  /surrogate|tenant/,
]);

// --- JSONL breakage ---------------------------------------------------------------------------
for (const [name, lines, expected] of [
  ['a truncated line', ['{"custom_id":"a","method":"POST"'], /line 1.*not valid JSON|"line":1/],
  ['two objects on one line', [`${line({})}${line({})}`], /not valid JSON/],
  ['a line that is an array', ['[1,2]'], /must be a JSON object/],
  ['a line that is a number', ['42'], /must be a JSON object/],
  ['a line that is a string', ['"hello"'], /must be a JSON object/],
  ['only blank lines', ['', '   ', ''], /no request lines/],
  ['method GET', [line({}, { method: 'GET' })], /method/],
  ['another url', [line({}, { url: '/v1/embeddings' })], /url/],
  ['no body', [JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/completions' })], /body/],
  ['a prompt list', [line({ prompt: ['a', 'b'] })], /one prompt per line/],
  ['duplicate custom_ids', [line({}), line({})], /duplicate custom_id/],
  ['max_tokens of 0', [line({ max_tokens: 0 })], /max_tokens/],
  ['max_tokens and gen_length', [line({ max_tokens: 4, gen_length: 4 })], /not both/],
  ['n: 2', [line({ n: 2 })], /not supported/],
  ['an unknown body field', [line({ frobnicate: 1 })], /unknown field/],
  [
    'a second model name',
    [line({ model: 'dllm-code-small' }), line({ model: 'other' }, { custom_id: 'b' })],
    /model/,
  ],
  ['a trailing comma', [`${line({}).slice(0, -1)},}`], /not valid JSON/],
] as [string, string[], RegExp][]) {
  cases.push([`JSONL: ${name}`, jsonl(lines), expected]);
}
cases.push([
  'JSONL with a JSON-only query parameter',
  () =>
    http('POST', '/v1/batches?frobnicate=1', line({}), { 'Content-Type': 'application/x-ndjson' }),
  /frobnicate|query/,
]);

// --- sizes ------------------------------------------------------------------------------------
cases.push([
  'more items than MAX_BATCH_ITEMS',
  postJson({ items: Array.from({ length: 201 }, (_, i) => ({ custom_id: `c${i}`, prompt: 'x' })) }),
  /at most 200 items/,
]);
cases.push([
  'a custom_id of 65 characters',
  postJson(item({ custom_id: 'x'.repeat(65) })),
  /1 to 64 characters/,
]);
cases.push([
  '17 metadata keys',
  postJson({
    ...item({}),
    metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])),
  }),
  /at most 16 keys/,
]);
cases.push([
  'a metadata value of 513 characters',
  postJson({ ...item({}), metadata: { k: 'v'.repeat(513) } }),
  /at most 512 characters/,
]);
cases.push([
  'a prompt longer than the model',
  postJson(item({ prompt: 'qz'.repeat(400) })),
  /max length/,
]);
cases.push([
  'a body over the limit (Content-Length)',
  () =>
    http('POST', '/v1/batches', Buffer.alloc(2 * 2 ** 20, 0x20), {
      'Content-Type': 'application/json',
    }),
  /larger than the 1 MiB limit/,
]);
cases.push([
  'a chunked body over the limit',
  () =>
    raw(
      `POST /v1/batches HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      { thenSend: Buffer.from(`200000\r\n${' '.repeat(0x200000)}\r\n0\r\n\r\n`) },
    ),
  /larger than the 1 MiB limit/,
]);
cases.push([
  'headers of 20 KB',
  () => http('GET', '/v1/batches', undefined, { 'X-Padding': 'p'.repeat(20_000) }),
  /headers are larger/,
]);
cases.push([
  'a URL of 20 KB',
  () => http('GET', `/v1/batches?cursor=${'c'.repeat(20_000)}`),
  /headers are larger|cursor/,
]);
cases.push([
  'JSON nested 100,000 deep',
  postJson(`{"items":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
  /deeper than the 64-level limit \(JSON_MAX_DEPTH\)/,
]);
cases.push([
  'an item with 1,000 unknown fields',
  postJson({
    items: [
      {
        custom_id: 'a',
        prompt: 'x',
        ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, i])),
      },
    ],
  }),
  /unknown field/,
]);
cases.push([
  '10,000 bad items (problems capped at 100)',
  postJson({ items: Array.from({ length: 150 }, () => 7) }),
  /"problem_count":150/,
]);

// --- broken HTTP and routes ---------------------------------------------------------------------
cases.push([
  'a non-numeric Content-Length',
  () => raw(`POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}`),
  /not valid HTTP/,
]);
cases.push([
  'Content-Length and chunked together',
  () =>
    raw(
      `POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}`,
    ),
  /not valid HTTP/,
]);
cases.push([
  'a bad chunk size',
  () =>
    raw(
      `POST /v1/batches HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nAuthorization: Bearer k\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    ),
  /not valid HTTP|API key/,
]);
cases.push([
  'a header without a colon',
  () => raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n`),
  /not valid HTTP/,
]);
cases.push([
  'a control character in a header value',
  () => raw(`GET /v1/batches HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n`),
  /not valid HTTP/,
]);
cases.push(['an unknown route', () => http('GET', '/v1/nothing'), /no route/]);
cases.push(['a wrong method', () => http('PUT', '/v1/batches'), /no route/]);
cases.push(['no Content-Type', () => http('POST', '/v1/batches', '{}'), /missing Content-Type/]);
cases.push(['a form body', postJson('a=1', 'application/x-www-form-urlencoded'), /not accepted/]);
cases.push(['a bad batch id', () => http('GET', '/v1/batches/not-a-uuid'), /batch id/]);
for (const query of [
  'limit=abc',
  'limit=0',
  'limit=1000000',
  'status=bogus',
  'created_after=yesterday',
  'cursor=!!!',
  'frobnicate=1',
]) {
  cases.push([
    `history with ${query}`,
    () => http('GET', `/v1/batches?${query}`),
    /limit|status|created_after|cursor|frobnicate/,
  ]);
}
cases.push([
  'no Authorization',
  () => raw(`GET /v1/batches HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  /missing Authorization/,
]);
cases.push([
  'a malformed Authorization',
  () => http('GET', '/v1/batches', undefined, { Authorization: 'Basic abc' }),
  /must be .{0,2}Bearer/,
]);
cases.push([
  'an Idempotency-Key with spaces',
  () =>
    http('POST', '/v1/batches', JSON.stringify(item({})), {
      'Content-Type': 'application/json',
      'Idempotency-Key': 'a b',
    }),
  /Idempotency-Key/,
]);

describe(`${cases.length} malformed requests`, () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await ApiHarness.start({
      MAX_BATCH_ITEMS: '200',
      API_BODY_LIMIT_MB: '1',
      RATE_LIMIT_REQUESTS: '0',
      MAX_CONCURRENT_UPLOADS: '0',
    });
    key = await api.keyFor('malformed');
    const server = api.app.getHttpServer() as Server;
    port = await listenOnFreePort(server);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('are at least 100', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(cases)('%s: a 4xx whose JSON body says what is wrong', async (_name, send, expected) => {
    const answer = await send();
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    const body = JSON.parse(answer.text) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(body.error.message.length).toBeGreaterThan(5);
    if (expected) expect(answer.text).toMatch(expected);
  });

  it('memory stays bounded: every case again, three times over, and the process serves on', async () => {
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 3; round++)
      for (const [, send] of cases) expect((await send()).status).toBeLessThan(500);
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(
      `malformed requests: ${cases.length * 3} more answered, RSS grew ${grown.toFixed(1)} MiB`,
    );
    expect(grown).toBeLessThan(128);
    expect((await http('GET', '/healthz')).status).toBe(200);
  });
});

/**
 * Nesting bombs of 1 to 10 MB on every door JSON comes in by, before and after auth: each gets a
 * 4xx (a 400 naming JSON_MAX_DEPTH where the body is within the route's size cap), and nothing
 * reaches the log at error level. A NUL at the bottom makes the storable-text walk look all the
 * way down, as it would for a hostile body.
 */
describe('deeply nested JSON', () => {
  let api: ApiHarness;
  const logged: string[] = [];
  const nest = (bytes: number, leaf = '"\\u0000"') => {
    const depth = Math.floor((bytes - leaf.length) / 2);
    return `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
  };
  const SIZES_MB = [1, 4, 10];

  beforeAll(async () => {
    api = await ApiHarness.start(
      { API_BODY_LIMIT_MB: '16', RATE_LIMIT_REQUESTS: '0', MAX_CONCURRENT_UPLOADS: '0' },
      { write: (l: string) => void logged.push(l) },
    );
    key = await api.keyFor('nested');
    const server = api.app.getHttpServer() as Server;
    port = await listenOnFreePort(server);
  });

  afterAll(async () => {
    await api?.close();
  });

  const refused = (answer: Answer, withinCap: boolean) => {
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    if (withinCap) expect(answer.text).toMatch(/deeper than the 64-level limit \(JSON_MAX_DEPTH\)/);
  };
  const lineWith = (prompt: string) =>
    `{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"prompt":"x","stop":${prompt}}}`;

  it.each(SIZES_MB)(
    '%i MB before auth (a small-JSON route) and on sync completions',
    async (mb) => {
      const body = `{"tenant":${nest(mb * 2 ** 20 * 0.9)}}`;
      const json = { 'Content-Type': 'application/json' };
      refused(
        await http('POST', '/v1/admin/api-keys', body, { ...json, Authorization: 'Bearer x' }),
        mb === 1,
      );
      refused(
        await http('POST', '/v1/completions', `{"prompt":${nest(mb * 2 ** 20 * 0.9)}}`, json),
        mb === 1,
      );
    },
  );

  it.each(SIZES_MB)('%i MB as a JSON batch, a JSONL line and an OpenAI input file', async (mb) => {
    const deep = nest(mb * 2 ** 20);
    const batch = `{"items":[{"custom_id":"a","prompt":"x","params":{"stop":${deep}}}]}`;
    refused(await http('POST', '/v1/batches', batch, { 'Content-Type': 'application/json' }), true);
    const jsonlAnswer = await http('POST', '/v1/batches', lineWith(deep), {
      'Content-Type': 'application/x-ndjson',
    });
    refused(jsonlAnswer, true);
    expect(jsonlAnswer.text).toMatch(/"line":1/);
    const file = await api.http
      .post('/v1/files')
      .set('Authorization', `Bearer ${key}`)
      .field('purpose', 'batch')
      .attach('file', Buffer.from(`${lineWith('"ok"')}\n${lineWith(deep)}\n`), 'deep.jsonl')
      .expect(200);
    const create = JSON.stringify({
      input_file_id: (file.body as { id: string }).id,
      endpoint: '/v1/completions',
      completion_window: '24h',
    });
    const fromFile = await http('POST', '/v1/batches', create, {
      'Content-Type': 'application/json',
    });
    refused(fromFile, true);
    expect(fromFile.text).toMatch(/"line":2/);
  });

  it('nests within the limit are still accepted, and nothing was logged at error level', async () => {
    const ok = `{"items":[{"custom_id":"a","prompt":"x","params":{"stop":["\\n\\n"]}}],"metadata":{"a":"b"}}`;
    const answer = await http('POST', '/v1/batches', ok, { 'Content-Type': 'application/json' });
    expect([answer.status, answer.text]).toEqual([201, expect.any(String)]);
    const errors = logged.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });
});
