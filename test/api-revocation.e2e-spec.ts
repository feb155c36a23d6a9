import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { KeyRevocations } from '../apps/api/src/auth/key-revocations';
import { ADMIN_KEY, ApiHarness, jsonBatch } from './support/api-harness';
import { waitFor } from './support/wait-for';
import { listenOnFreePort } from './support/ports';

/**
 * Revoking a key ends its open progress and canvas streams and its waiting sync completions at
 * once (no worker runs here, so none of them would end on its own for minutes), in the process
 * that revoked it and, through Redis, in every other.
 */
describe('revoking an API key', () => {
  let api: ApiHarness;
  let port: number;

  beforeAll(async () => {
    api = await ApiHarness.start({ COMPLETION_TIMEOUT_MS: '600000', SSE_POLL_MS: '50' });
    const server = api.app.getHttpServer() as Server;
    port = await listenOnFreePort(server);
  });

  afterAll(async () => {
    await api?.close();
  });

  const issue = async () =>
    (
      await api.http
        .post('/v1/admin/api-keys')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({ tenant: 'revoked', name: 'k' })
        .expect(201)
    ).body as { id: string; key: string };

  interface Ended {
    status: number;
    text: string;
    endedAt: number;
  }
  /** A request left open: `head` once its headers came, `ended` with its whole body once the server ends it. */
  const open = (key: string, method: string, path: string, body?: unknown) => {
    let head!: () => void;
    const headers = new Promise<void>((r) => (head = r));
    const ended = new Promise<Ended>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        },
        (res: IncomingMessage) => {
          head();
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          const done = () => resolve({ status: res.statusCode ?? 0, text, endedAt: Date.now() });
          res.on('end', done).on('error', done);
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
    return { headers, ended };
  };

  const openAll = async () => {
    const { id, key } = await issue();
    const batch = (
      await api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${key}`)
        .send(jsonBatch(1))
        .expect(201)
    ).body as { id: string };
    const streams = [
      open(key, 'GET', `/v1/batches/${batch.id}/events`),
      open(key, 'GET', `/v1/batches/${batch.id}/canvas`),
      open(key, 'POST', '/v1/completions', { prompt: 'def g(x):', max_tokens: 4, stream: true }),
    ];
    const waiting = open(key, 'POST', '/v1/completions', { prompt: 'def f(x):', max_tokens: 4 });
    await Promise.all(streams.map((s) => s.headers)); // the streams are streaming
    const revocations = api.app.get(KeyRevocations);
    await waitFor('all four open', async () => revocations.openFor(id) === 4, 15_000, 20);
    const requests = [...streams.map((s) => s.ended), waiting.ended];
    return { id, key, requests };
  };

  const expectEndedByRevocation = async (requests: Promise<Ended>[], revokedAt: number) => {
    const [events, canvas, streamed, completion] = await Promise.all(requests);
    for (const stream of [events!, canvas!, streamed!]) {
      expect(stream.status).toBe(200);
      expect(stream.text).toMatch(/event: error\ndata: \{"error":\{"code":"key_revoked"/);
    }
    expect(completion!.status).toBe(401);
    expect(JSON.parse(completion!.text)).toMatchObject({ error: { code: 'key_revoked' } });
    for (const r of [events!, canvas!, completion!, streamed!])
      expect(r.endedAt - revokedAt).toBeLessThan(2000);
  };

  it('through the admin route: every open request of the key ends at once, and the key is refused after', async () => {
    const { id, key, requests } = await openAll();
    const revokedAt = Date.now();
    await api.http
      .delete(`/v1/admin/api-keys/${id}`)
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .expect(200);
    await expectEndedByRevocation(requests, revokedAt);
    await api.http.get('/v1/batches').set('Authorization', `Bearer ${key}`).expect(401);
    // the completions' rows were stopped, not left to run for nobody
    await waitFor(
      'completions cancelled',
      async () => {
        const rows: { status: string }[] = await api.dataSource.query(
          `SELECT status FROM batches WHERE origin = 'interactive'`,
        );
        return (
          rows.length === 2 &&
          rows.every((r) => r.status !== 'in_progress' && r.status !== 'queued')
        );
      },
      10_000,
      50,
    );
  });

  it('announced by another API process on the Redis channel: ended here too', async () => {
    const { id, requests } = await openAll();
    const revokedAt = Date.now();
    await api.redis.publish(`${api.config.QUEUE_PREFIX}:api-key-revoked`, id);
    await expectEndedByRevocation(requests, revokedAt);
  });
});
