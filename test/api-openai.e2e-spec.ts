import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiHarness } from './support/api-harness';

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { line?: number; field: string; message: string }[];
  };
}

const line = (custom_id: string, body: Record<string, unknown>, url = '/v1/completions') =>
  JSON.stringify({ custom_id, method: 'POST', url, body: { model: 'dllm-code-small', ...body } });

/**
 * The OpenAI-compatible routes without a worker: files (both storages), batch creation from a
 * file, request validation of /v1/completions and /v1/chat/completions, and what happens when no
 * worker answers in time.
 */
describe('OpenAI-compatible routes (no worker)', () => {
  let api: ApiHarness;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ FILE_MAX_MB: '1', COMPLETION_TIMEOUT_MS: '1500' });
    key = await api.keyFor('acme');
    otherKey = await api.keyFor('globex');
  });

  afterAll(async () => {
    await api?.close();
  });

  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });
  const upload = (content: Buffer | string, purpose = 'batch', k = key) =>
    api.http
      .post('/v1/files')
      .set(auth(k))
      .field('purpose', purpose)
      .attach('file', Buffer.from(content), 'input.jsonl');
  const errorOf = (body: unknown) => (body as ErrorBody).error;

  describe('/v1/files', () => {
    it('stores an upload in Postgres and gives it back byte for byte', async () => {
      const text = `${line('a', { prompt: 'x' })}\n`;
      const res = await upload(text).expect(200);
      expect(res.body).toMatchObject({
        object: 'file',
        purpose: 'batch',
        filename: 'input.jsonl',
        bytes: text.length,
        status: 'processed',
      });
      const id = (res.body as { id: string }).id;
      const content = await api.http
        .get(`/v1/files/${id}/content`)
        .set(auth())
        .buffer(true)
        .expect(200);
      expect(content.body instanceof Buffer ? content.body.toString() : content.text).toBe(text);
      const rows = await api.dataSource.query<{ n: number }[]>(
        `SELECT octet_length(content) AS n FROM file_contents WHERE file_id = $1`,
        [id],
      );
      expect(rows).toEqual([{ n: text.length }]);
    });

    it.each([
      [
        'not multipart',
        () => api.http.post('/v1/files').set(auth()).send({ purpose: 'batch' }),
        415,
        /multipart\/form-data/,
      ],
      [
        'no file part',
        () => api.http.post('/v1/files').set(auth()).field('purpose', 'batch'),
        400,
        /\\"file\\" part is required/,
      ],
      [
        'another purpose',
        () => upload('x', 'fine-tune'),
        400,
        /purpose \\"fine-tune\\" is not supported/,
      ],
      ['an empty file', () => upload(''), 400, /the file is empty/],
      ['bytes that are not UTF-8', () => upload(Buffer.from([0x7b, 0xff])), 400, /not valid UTF-8/],
      [
        'a file over FILE_MAX_MB',
        () => upload(Buffer.alloc(1_100_000, 0x61)),
        413,
        /1 MiB limit \(FILE_MAX_MB\)/,
      ],
      [
        'a file far over FILE_MAX_MB (refused by its Content-Length)',
        () => upload(Buffer.alloc(2_000_000, 0x61)),
        413,
        /1 MiB limit \(FILE_MAX_MB\)/,
      ],
      [
        'an unknown field',
        () =>
          api.http
            .post('/v1/files')
            .set(auth())
            .field('purpose', 'batch')
            .field('colour', 'red')
            .attach('file', Buffer.from('x'), 'a.jsonl'),
        400,
        /unknown field \\"colour\\"/,
      ],
      [
        'a file that does not exist',
        () => api.http.get('/v1/files/file-nope').set(auth()),
        404,
        /file file-nope not found/,
      ],
      [
        'a list limit of 0',
        () => api.http.get('/v1/files?limit=0').set(auth()),
        400,
        /"field":"limit"/,
      ],
    ])('refuses %s', async (_name, request, status, expected) => {
      const res = await request();
      expect(res.status).toBe(status);
      expect(JSON.stringify(res.body)).toMatch(expected);
    });

    it('lists newest first in pages, per tenant, and honours expires_after', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push(((await upload(`${i}`).expect(200)).body as { id: string }).id);
      const page = await api.http.get('/v1/files?limit=2').set(auth()).expect(200);
      expect(page.body).toMatchObject({
        object: 'list',
        has_more: true,
        first_id: ids[2],
        last_id: ids[1],
      });
      const next = await api.http.get(`/v1/files?limit=2&after=${ids[1]}`).set(auth()).expect(200);
      expect((next.body as { data: { id: string }[] }).data[0]!.id).toBe(ids[0]);
      const other = await api.http.get('/v1/files').set(auth(otherKey)).expect(200);
      expect(other.body).toMatchObject({ data: [], has_more: false });

      const expiring = await api.http
        .post('/v1/files')
        .set(auth())
        .field('purpose', 'batch')
        .field('expires_after[anchor]', 'created_at')
        .field('expires_after[seconds]', '3600')
        .attach('file', Buffer.from('x'), 'a.jsonl')
        .expect(200);
      const body = expiring.body as { id: string; created_at: number; expires_at: number };
      expect(body.expires_at - body.created_at).toBe(3600);
      await api.dataSource.query(`UPDATE files SET expires_at = now() WHERE id = $1`, [body.id]);
      await api.http.get(`/v1/files/${body.id}`).set(auth()).expect(404);
    });

    it('stores in FILES_DIR when it is set, and deleting removes the file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dllm-files-'));
      const other = await ApiHarness.start({ FILES_DIR: dir });
      try {
        const k = await other.keyFor('acme');
        const text = line('a', { prompt: 'y' });
        const res = await other.http
          .post('/v1/files')
          .set({ Authorization: `Bearer ${k}` })
          .field('purpose', 'batch')
          .attach('file', Buffer.from(text), 'in.jsonl')
          .expect(200);
        const id = (res.body as { id: string }).id;
        expect(readFileSync(join(dir, id), 'utf8')).toBe(text);
        const rows = await other.dataSource.query<{ storage: string }[]>(
          `SELECT storage FROM files WHERE id = $1`,
          [id],
        );
        expect(rows).toEqual([{ storage: 'directory' }]);
        // a batch from a file in the folder
        await other.http
          .post('/v1/batches')
          .set({ Authorization: `Bearer ${k}` })
          .send({ input_file_id: id, endpoint: '/v1/completions', completion_window: '24h' })
          .expect(201);
        await other.http
          .delete(`/v1/files/${id}`)
          .set({ Authorization: `Bearer ${k}` })
          .expect(200, { id, object: 'file', deleted: true });
        expect(existsSync(join(dir, id))).toBe(false);
      } finally {
        await other.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('POST /v1/batches from a file', () => {
    let fileId: string;

    beforeAll(async () => {
      const text = [
        line('a', { prompt: 'x = ', max_tokens: 4 }),
        line('b', { prompt: 'y = ', max_tokens: 4 }),
      ].join('\n');
      fileId = ((await upload(text).expect(200)).body as { id: string }).id;
    });

    it('creates a batch shown in OpenAI shape on every batch route, native routes still native', async () => {
      const create = {
        input_file_id: fileId,
        endpoint: '/v1/completions',
        completion_window: '24h',
        metadata: { a: 'b' },
      };
      const res = await api.http
        .post('/v1/batches')
        .set(auth())
        .set('Idempotency-Key', 'oa-1')
        .send(create)
        .expect(201);
      const batch = res.body as {
        id: string;
        status: string;
        created_at: number;
        request_counts: object;
      };
      expect(batch).toMatchObject({
        object: 'batch',
        status: 'in_progress',
        input_file_id: fileId,
        request_counts: { total: 2, completed: 0, failed: 0 },
      });
      expect(typeof batch.created_at).toBe('number');
      const again = await api.http
        .post('/v1/batches')
        .set(auth())
        .set('Idempotency-Key', 'oa-1')
        .send(create)
        .expect(200);
      expect((again.body as { id: string }).id).toBe(batch.id);
      expect(
        (await api.http.get(`/v1/batches/${batch.id}`).set(auth()).expect(200)).body,
      ).toMatchObject({ object: 'batch', endpoint: '/v1/completions' });
      const items = await api.http.get(`/v1/batches/${batch.id}/items`).set(auth()).expect(200);
      expect(
        (items.body as { data: { custom_id: string; params: object }[] }).data[0],
      ).toMatchObject({ custom_id: 'a', prompt: 'x = ', params: { gen_length: 4 } });
      const cancelled = await api.http
        .post(`/v1/batches/${batch.id}/cancel`)
        .set(auth())
        .expect(200);
      expect(cancelled.body).toMatchObject({
        object: 'batch',
        status: 'cancelled',
        request_counts: { total: 2, failed: 2 },
      });
      // ended: its error file is a view of the results
      const errorFile = (cancelled.body as { error_file_id: string }).error_file_id;
      const content = await api.http
        .get(`/v1/files/${errorFile}/content`)
        .set(auth())
        .buffer(true)
        .expect(200);
      const lines = String(content.text)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { custom_id: string; error: { code: string } });
      expect(lines.map((l) => [l.custom_id, l.error.code])).toEqual([
        ['a', 'batch_cancelled'],
        ['b', 'batch_cancelled'],
      ]);
      expect((cancelled.body as { output_file_id: unknown }).output_file_id).toBeNull();
    });

    it.each([
      [
        { input_file_id: 'file-nope', endpoint: '/v1/completions', completion_window: '24h' },
        /"field":"input_file_id","message":"file file-nope not found"/,
      ],
      [
        { input_file_id: 'x', endpoint: '/v1/embeddings', completion_window: '24h' },
        /"field":"endpoint","message":"must be \\"\/v1\/completions\\" or/,
      ],
      [{ input_file_id: 'x', endpoint: '/v1/completions' }, /"field":"completion_window"/],
      [
        { input_file_id: 'x', endpoint: '/v1/completions', completion_window: '24h', priority: 1 },
        /"field":"priority","message":"unknown field/,
      ],
      [
        {
          input_file_id: 'x',
          endpoint: '/v1/completions',
          completion_window: '24h',
          webhook_url: 'https://example.com/',
        },
        /webhooks are off in this deployment/,
      ],
    ])('refuses %j naming the field', async (body, expected) => {
      const res = await api.http.post('/v1/batches').set(auth()).send(body).expect(400);
      expect(JSON.stringify(res.body)).toMatch(expected);
    });

    it("refuses another tenant's file as not found", async () => {
      const res = await api.http
        .post('/v1/batches')
        .set(auth(otherKey))
        .send({ input_file_id: fileId, endpoint: '/v1/completions', completion_window: '24h' })
        .expect(400);
      expect(errorOf(res.body).details).toEqual([
        { field: 'input_file_id', message: `file ${fileId} not found` },
      ]);
    });
  });

  describe('/v1/completions and /v1/chat/completions', () => {
    it.each(
      (
        [
          ['/v1/completions', {}, 'prompt', /is required/],
          ['/v1/completions', { prompt: 'x', n: 2 }, 'n', /is not supported by this service/],
          ['/v1/completions', { prompt: ['a', 'b'] }, 'prompt', /one prompt per request/],
          ['/v1/completions', { prompt: 'x', diffusing: true }, 'diffusing', /give stream: true/],
          ['/v1/completions', { prompt: 'x', model: 'gpt-4' }, 'model', /not served here/],
          [
            '/v1/completions',
            { prompt: 'zq'.repeat(400) },
            'prompt',
            /> the model's max length 256/,
          ],
          [
            '/v1/completions',
            { prompt: 'x', max_tokens: 4, block_length: 8 },
            'block_length',
            /must be <= gen_length/,
          ],
          ['/v1/chat/completions', { messages: [] }, 'messages', /at least 1 message/],
          [
            '/v1/chat/completions',
            { messages: [{ role: 'tool', content: 'x' }] },
            'messages.0.role',
            /Invalid option/,
          ],
          [
            '/v1/chat/completions',
            { messages: [{ role: 'user', content: 'x' }], tools: [{}] },
            'tools',
            /not supported/,
          ],
          [
            '/v1/chat/completions',
            { messages: [{ role: 'user', content: 'x' }], temprature: 1 },
            'temprature',
            /unknown field/,
          ],
        ] as [string, object, string, RegExp][]
      ).map(([path, body, field, message]) => ({ path, body, field, message })),
    )('$path: a bad request -> 400 at $field', async ({ path, body, field, message }) => {
      const res = await api.http.post(path).set(auth()).send(body).expect(400);
      const error = errorOf(res.body);
      expect(error.code).toBe('invalid_request');
      expect(error.details?.[0]).toMatchObject({ field });
      expect(error.details?.[0]?.message).toMatch(message);
    });

    it('answers 504 when no worker serves the request in time, and cancels it', async () => {
      const res = await api.http
        .post('/v1/completions')
        .set(auth())
        .send({ prompt: 'x = ', max_tokens: 4 })
        .expect(504);
      expect(errorOf(res.body)).toMatchObject({ code: 'completion_timeout' });
      const rows = await api.dataSource.query<{ status: string; origin: string }[]>(
        `SELECT status, origin FROM batches WHERE origin = 'interactive'`,
      );
      expect(rows).toEqual([{ status: 'cancelled', origin: 'interactive' }]);
      // one-item batches of completions stay out of the history
      const history = await api.http.get('/v1/batches?limit=100').set(auth()).expect(200);
      expect((history.body as { data: { id: string }[] }).data.length).toBeGreaterThan(0);
      const ids = (history.body as { data: { id: string }[] }).data.map((b) => b.id);
      const interactive = await api.dataSource.query<{ id: string }[]>(
        `SELECT id FROM batches WHERE origin = 'interactive'`,
      );
      expect(ids).not.toContain(interactive[0]!.id);
    });
  });

  it('needs a key for /v1/models and lists the served model', async () => {
    await api.http.get('/v1/models').expect(401);
    const res = await api.http.get('/v1/models').set(auth()).expect(200);
    expect(res.body).toMatchObject({
      object: 'list',
      data: [{ id: 'dllm-code-small', object: 'model', owned_by: 'dllm-batch' }],
    });
    await api.http.get('/v1/models/gpt-4').set(auth()).expect(404);
  });

  it('describes the request bodies in the OpenAPI document from their schemas', async () => {
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as {
      paths: Record<string, unknown>;
      components: {
        schemas: Record<
          string,
          { properties: Record<string, { maxItems?: number; properties?: object }> }
        >;
      };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/files',
        '/v1/files/{id}/content',
        '/v1/models',
        '/v1/completions',
        '/v1/chat/completions',
      ]),
    );
    const batch = doc.components.schemas.BatchSubmission!;
    expect(batch.properties.items!.maxItems).toBe(api.config.MAX_BATCH_ITEMS);
    expect(batch.properties.params!.properties).toHaveProperty('policy');
    expect(doc.components.schemas.ChatCompletionRequest!.properties).toHaveProperty('messages');
    expect(doc.components.schemas.OpenAiBatchCreate!.properties).toHaveProperty('input_file_id');
  });
});
