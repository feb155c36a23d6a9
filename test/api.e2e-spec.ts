import { get as httpGet, type Server } from 'node:http';
import { ADMIN_KEY, ApiHarness, jsonBatch } from './support/api-harness';
import { listenOnFreePort } from './support/ports';

interface ErrorBody {
  error: { code: string; message: string };
}

/** Around the routes: health, readiness, metrics, OpenAPI, API keys and authentication. */
describe('API platform', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await ApiHarness.start();
  });

  afterAll(async () => {
    await api?.close();
  });

  it('GET /healthz answers 200 {status: "ok"} without a key', async () => {
    await api.http.get('/healthz').expect(200, { status: 'ok' });
  });

  it('GET /readyz checks Postgres and Redis', async () => {
    await api.http
      .get('/readyz')
      .expect(200, { status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('GET /metrics serves Prometheus text without a key', async () => {
    const res = await api.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE dllm_api_http_requests_total counter');
    expect(res.text).toContain('process_cpu_seconds_total');
  });

  it('serves the OpenAPI document and UI at /docs', async () => {
    const doc = await api.http.get('/docs/openapi.json').expect(200);
    const paths = Object.keys((doc.body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/batches',
        '/v1/batches/{id}',
        '/v1/batches/{id}/items',
        '/v1/batches/{id}/results',
        '/v1/batches/{id}/cancel',
        '/v1/batches/{id}/events',
        '/v1/admin/api-keys',
        '/healthz',
        '/readyz',
      ]),
    );
    const ui = await api.http.get('/docs').expect(200);
    expect(ui.text).toContain('swagger-ui');
  });

  it("tags every response with a request id (the caller's, when given)", async () => {
    const res = await api.http.get('/healthz').set('X-Request-Id', 'trace-123').expect(200);
    expect(res.headers['x-request-id']).toBe('trace-123');
    const fresh = await api.http.get('/healthz').expect(200);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  describe('API keys', () => {
    it('issues a key once (plaintext in the response, only its SHA-256 stored)', async () => {
      const res = await api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({ tenant: 'acme', name: 'ci' })
        .expect(201);
      const issued = res.body as { id: string; key: string; tenant: string };
      expect(issued).toMatchObject({ tenant: 'acme', name: 'ci' });
      expect(issued.key).toMatch(/^dllm_/);
      const rows = await api.dataSource.query<{ key_hash: string }[]>(
        `SELECT key_hash FROM api_keys WHERE id = $1`,
        [issued.id],
      );
      expect(rows[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(rows)).not.toContain(issued.key);
      await api.http.get('/v1/batches').set('Authorization', `Bearer ${issued.key}`).expect(200);
    });

    it('a revoked key gets 401 saying it was revoked', async () => {
      const res = await api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({ tenant: 'acme', name: 'temp' })
        .expect(201);
      const { id, key } = res.body as { id: string; key: string };
      await api.http
        .delete(`/v1/admin/api-keys/${id}`)
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .expect(200);
      const refused = await api.http
        .get('/v1/batches')
        .set('Authorization', `Bearer ${key}`)
        .expect(401);
      expect((refused.body as ErrorBody).error.message).toMatch(/revoked/);
    });

    it('revoking an unknown key is 404', async () => {
      await api.http
        .delete('/v1/admin/api-keys/00000000-0000-4000-8000-000000000000')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .expect(404);
    });

    it('admin routes refuse tenant keys and no key', async () => {
      const tenantKey = await api.keyFor('acme');
      const asTenant = await api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${tenantKey}`)
        .send({ tenant: 'x', name: 'y' })
        .expect(401);
      expect((asTenant.body as ErrorBody).error.message).toMatch(/admin API key/);
      await api.http.post('/v1/admin/api-keys').send({ tenant: 'x', name: 'y' }).expect(401);
    });

    it('the admin key is not a tenant key', async () => {
      await api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send(jsonBatch(1))
        .expect(401);
    });
  });

  describe('authentication on tenant routes', () => {
    it.each([
      ['no header', undefined, /missing Authorization header/],
      ['another scheme', 'Basic dXNlcjpwYXNz', /must be "Bearer <api key>"/],
      ['an unknown key', 'Bearer dllm_not-a-real-key', /invalid API key/],
    ])('%s -> 401 with a clear message', async (_, header, message) => {
      const req = api.http.get('/v1/batches');
      if (header) req.set('Authorization', header);
      const res = await req.expect(401);
      expect(res.body).toMatchObject({ error: { code: 'unauthorized' } });
      expect((res.body as ErrorBody).error.message).toMatch(message);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });
  });

  it('shuts down promptly with a progress stream open, ending the stream', async () => {
    const other = await ApiHarness.start();
    const key = await other.keyFor('acme');
    const batch = await other.http
      .post('/v1/batches')
      .set('Authorization', `Bearer ${key}`)
      .send(jsonBatch(1))
      .expect(201);
    const server = other.app.getHttpServer() as Server;
    const port = await listenOnFreePort(server);
    const ended = new Promise<string>((resolve, reject) => {
      httpGet(
        {
          port,
          host: '127.0.0.1',
          path: `/v1/batches/${(batch.body as { id: string }).id}/events`,
          headers: { Authorization: `Bearer ${key}` },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
          res.on('error', reject);
        },
      ).on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 300)); // the stream is open and has sent its first event
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await ended).toContain('event: progress');
  });

  it('the admin API is off when ADMIN_API_KEY is unset', async () => {
    const bare = await ApiHarness.start({ ADMIN_API_KEY: '' });
    try {
      const res = await bare.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({ tenant: 'a', name: 'b' })
        .expect(401);
      expect((res.body as ErrorBody).error.message).toMatch(/ADMIN_API_KEY is not set/);
    } finally {
      await bare.close();
    }
  });
});
