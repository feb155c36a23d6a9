import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { ConcurrencySlots, KeySlots } from '../apps/api/src/limits/key-slots';
import { ApiHarness, jsonBatch } from './support/api-harness';
import { REDIS_URL } from './support/services';
import { waitFor } from './support/wait-for';

interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * MAX_CANVAS_STREAMS and MAX_CONCURRENT_COMPLETIONS hold over all API processes: two app instances
 * of one deployment (one database, one Redis prefix) share each key's slots, and a slot whose
 * process died frees itself once its lease lapses.
 */
describe('concurrency caps shared by API replicas (Redis leases)', () => {
  let a: ApiHarness;
  let b: ApiHarness;
  const ports = new Map<ApiHarness, number>();

  const listen = async (api: ApiHarness) => {
    const server = api.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.set(api, (server.address() as AddressInfo).port);
  };

  beforeAll(async () => {
    a = await ApiHarness.start({
      MAX_CANVAS_STREAMS: '1',
      MAX_CONCURRENT_COMPLETIONS: '1',
      CONCURRENCY_LEASE_MS: '3000',
    });
    b = await ApiHarness.sibling(a);
    await listen(a);
    await listen(b);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** A request held open by the caller (a stream, or a completion no worker will answer). */
  const open = (api: ApiHarness, method: string, path: string, key: string, body?: string) => {
    let resolveResponse!: (r: IncomingMessage) => void;
    const response = new Promise<IncomingMessage>((r) => (resolveResponse = r));
    const req: ClientRequest = httpRequest(
      {
        host: '127.0.0.1',
        port: ports.get(api),
        method,
        path,
        headers: {
          Authorization: `Bearer ${key}`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      resolveResponse,
    );
    req.on('error', () => undefined);
    req.end(body);
    return { req, response };
  };

  const keyId = async (tenant: string) =>
    (
      await a.dataSource.query<{ id: string }[]>(`SELECT id FROM api_keys WHERE tenant = $1`, [
        tenant,
      ])
    )[0]!.id;

  it.each([
    ['canvas streams', 'canvases', /already has 1 canvas stream\(s\) open \(MAX_CANVAS_STREAMS\)/],
    [
      'sync completions',
      'completions',
      /already has 1 sync completion\(s\) waiting \(MAX_CONCURRENT_COMPLETIONS\)/,
    ],
  ] as const)(
    '%s: one held on instance A leaves none on instance B; closing it frees B',
    async (_name, kind, message) => {
      const key = await a.keyFor(`shared-${kind}`);
      const id = await keyId(`shared-${kind}`);
      const batch = (
        await a.http
          .post('/v1/batches')
          .set('Authorization', `Bearer ${key}`)
          .send(jsonBatch(1))
          .expect(201)
      ).body as { id: string };
      const request = (api: ApiHarness) =>
        kind === 'canvases'
          ? open(api, 'GET', `/v1/batches/${batch.id}/canvas`, key)
          : open(api, 'POST', '/v1/completions', key, '{"prompt":"def f(x):","max_tokens":4}');
      const slotsB = b.app.get(ConcurrencySlots).byKind[kind];

      const first = request(a);
      await waitFor('A holds the slot', async () => (await slotsB.inUse(id)) === 1, 10_000, 20);
      const second = request(b);
      const refused = await second.response;
      expect(refused.statusCode).toBe(429);
      const body = await new Promise<string>((resolve) => {
        let text = '';
        refused.setEncoding('utf8').on('data', (c: string) => (text += c));
        refused.on('end', () => resolve(text));
      });
      expect((JSON.parse(body) as ErrorBody).error.message).toMatch(message);

      first.req.destroy();
      await waitFor('slot released', async () => (await slotsB.inUse(id)) === 0, 10_000, 20);
      const third = request(b);
      if (kind === 'canvases') expect((await third.response).statusCode).toBe(200);
      else
        await waitFor('B holds the slot', async () => (await slotsB.inUse(id)) === 1, 10_000, 20);
      third.req.destroy();
      await waitFor('slot released', async () => (await slotsB.inUse(id)) === 0, 10_000, 20);
    },
  );

  it('a crashed holder (no more renewals, no release) frees its slot once the lease lapses', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `${a.config.QUEUE_PREFIX}:slots:test-crash`;
    const crashed = new KeySlots(redis, prefix, 1, 3000);
    const survivor = new KeySlots(redis, prefix, 1, 3000);
    try {
      expect(await crashed.take('k')).not.toBeNull();
      crashed.stop(); // the process died: its slot is never renewed nor released
      expect(await survivor.take('k')).toBeNull();
      const started = Date.now();
      await waitFor('lease lapsed', async () => (await survivor.take('k')) !== null, 10_000, 100);
      expect(Date.now() - started).toBeGreaterThan(1500);
    } finally {
      crashed.stop();
      survivor.stop();
      await redis.quit();
    }
  });

  it('a live holder keeps its slot past the lease (renewals), over several lease lengths', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `${a.config.QUEUE_PREFIX}:slots:test-renew`;
    const holder = new KeySlots(redis, prefix, 1, 3000);
    const other = new KeySlots(redis, prefix, 1, 3000);
    try {
      const release = await holder.take('k');
      expect(release).not.toBeNull();
      await new Promise((r) => setTimeout(r, 7000));
      expect(await other.take('k')).toBeNull();
      release!();
      await waitFor('released', async () => (await other.inUse('k')) === 0, 5000, 20);
      expect(await other.take('k')).not.toBeNull();
    } finally {
      holder.stop();
      other.stop();
      await redis.quit();
    }
  });
});
