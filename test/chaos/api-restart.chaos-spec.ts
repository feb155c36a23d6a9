import { request as httpRequest, type ClientRequest } from 'node:http';
import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import {
  CHAOS_ADMIN_KEY,
  ChaosStack,
  chaosItems,
  CHAOS_PARAMS,
} from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(1_800_000);

/** About 50 MB of JSON: ITEMS items of a ~250-byte prompt (within the model's length, no tokenizing). */
const UPLOAD_ITEMS = 180_000;

function bigBody(): Buffer {
  const pad = 'x = compute(value) + offset  # '.repeat(8); // 248 bytes: with the index, within 255
  const items = Array.from(
    { length: UPLOAD_ITEMS },
    (_, i) => `{"custom_id":"u${i}","prompt":"${pad}${i}"}`,
  );
  return Buffer.from(`{"params":{"gen_length":1},"items":[${items.join(',')}]}`);
}

interface Sent {
  status: number;
  body: { id?: string; error?: { code: string } };
}

describe('chaos: the API restarted during a 50 MB upload', () => {
  let stack: ChaosStack;
  let key: string;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.apiUrl}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${key}`,
        'Content-Type': 'application/json',
        ...init.headers,
      },
    });

  beforeAll(async () => {
    // the big upload needs room: more items and a body limit above 50 MB; quick shutdown
    stack = await ChaosStack.start({
      MAX_BATCH_ITEMS: String(UPLOAD_ITEMS),
      API_BODY_LIMIT_MB: '64',
      API_SHUTDOWN_GRACE_MS: '1000',
    });
    await stack.startApi();
    const res = await fetch(`${stack.apiUrl}/v1/admin/api-keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${CHAOS_ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: 'chaos', name: 'uploader' }),
    });
    key = ((await res.json()) as { key: string }).key;
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  /** Sends `body` as one POST; with `cutAfter`, holds the rest back until told. */
  const upload = (body: Buffer, idempotencyKey: string, cutAfter?: number) => {
    let req!: ClientRequest;
    const answer = new Promise<Sent | { error: string }>((resolve) => {
      req = httpRequest(
        {
          host: '127.0.0.1',
          port: stack.apiPort,
          method: 'POST',
          path: '/v1/batches',
          headers: {
            Authorization: `Bearer ${key}`,
            'Content-Type': 'application/json',
            'Content-Length': String(body.length),
            'Idempotency-Key': idempotencyKey,
          },
        },
        (res) => {
          let text = '';
          res
            .setEncoding('utf8')
            .on('data', (c: string) => (text += c))
            .on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: JSON.parse(text || '{}') as Sent['body'],
              }),
            );
          res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    const firstPartTaken = new Promise<void>((resolve) => {
      if (cutAfter === undefined) {
        req.end(body);
        resolve();
      } else if (req.write(body.subarray(0, cutAfter))) resolve();
      else req.once('drain', () => resolve()); // the server has been reading the body
    });
    return { answer, firstPartTaken, req };
  };

  it('the cut upload leaves nothing behind, its retry (same Idempotency-Key) makes one batch, the running batch ends exactly once', async () => {
    const items = chaosItems();
    const workers = [await stack.startWorker(), await stack.startWorker()];
    await Promise.all(workers.map((w) => stack.workerReady(w)));
    const started = Date.now();
    const running = await api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({
        params: CHAOS_PARAMS,
        items: Array.from({ length: items }, (_, i) => ({
          custom_id: `r${i}`,
          prompt: `def function_${i}(x):`,
        })),
      }),
    });
    expect(running.status).toBe(201);
    const runningId = ((await running.json()) as { id: string }).id;
    await waitFor(
      '20% of the running batch ended',
      async () => (await stack.completed(runningId)) >= 0.2 * items,
      900_000,
      100,
    );

    const body = bigBody();
    const cut = upload(body, 'big-upload-1', 20 * 2 ** 20);
    await cut.firstPartTaken;
    await stack.stopApi(); // SIGTERM mid-upload: the grace runs out, the connection is cut
    const cutAnswer = await cut.answer;
    // the client learns the upload did not go through: its connection was cut
    expect(cutAnswer).toMatchObject({
      error: expect.stringMatching(/ECONNRESET|EPIPE|socket hang up/) as unknown,
    });
    const leftBehind = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batches WHERE idempotency_key = 'big-upload-1'`,
    );
    expect(leftBehind.rows[0]!.n).toBe(0); // nothing half-accepted

    await stack.startApi();
    const accepted = (await upload(body, 'big-upload-1').answer) as Sent;
    expect(accepted.status).toBe(201);
    const replay = (await upload(body, 'big-upload-1').answer) as Sent;
    expect(replay).toMatchObject({ status: 200, body: { id: accepted.body.id } });
    // the big batch is not meant to run here: cancel it (its items end as cancelled, once each)
    expect((await api(`/v1/batches/${accepted.body.id}/cancel`, { method: 'POST' })).status).toBe(
      200,
    );

    await waitFor(
      'every batch ended',
      async () => (await openBatches(stack.db)) === 0,
      900_000,
      500,
    );
    const audit = await auditBatch(stack.db, runningId);
    const big = await auditBatch(stack.db, accepted.body.id!);
    recordCase(
      'API SIGTERM during a 50 MB upload, then restart',
      audit,
      (Date.now() - started) / 1000,
      {
        upload_mb: Math.round(body.length / 2 ** 20),
        upload_items: UPLOAD_ITEMS,
        upload_ended_once: big.writtenTwice === 0 && big.neverEnded === 0,
      },
    );
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items,
      writtenTwice: 0,
      neverEnded: 0,
    });
    expect(big).toMatchObject({
      status: 'cancelled',
      total: UPLOAD_ITEMS,
      writtenTwice: 0,
      neverEnded: 0,
    });
    const batches = await stack.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM batches`);
    expect(batches.rows[0]!.n).toBe(2);
  });
});
