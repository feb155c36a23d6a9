import { Reconciler } from '../apps/api/src/batches/reconciler';
import { RetentionSweeper } from '../apps/api/src/retention/retention-sweeper';
import { ApiHarness, jsonBatch } from './support/api-harness';

interface ErrorBody {
  error: {
    code: string;
    message: string;
    quota?: { name: string; limit: number; used: number; requested: number };
  };
}

const HOUR = 3600;

/**
 * Retention and storage quotas against real Postgres and Redis: uploaded files get an expiry,
 * results and canvases expire after their batch ended (410), the cleanup job deletes what expired
 * in small batches with one leader among API processes, and submissions past a tenant's quota get
 * 403 naming the limit and the usage.
 */
describe('retention, cleanup job and storage quotas', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await ApiHarness.start({
      FILE_RETENTION_S: String(24 * HOUR),
      RESULT_RETENTION_S: String(HOUR),
      CANVAS_RETENTION_S: '600',
      TENANT_RESULTS_QUOTA_ITEMS: '300',
      TENANT_CANVAS_QUOTA_ITEMS: '2',
      RETENTION_DELETE_ROWS: '100',
    });
  });

  afterAll(async () => {
    await api?.close();
  });

  const sweeper = () => api.app.get(RetentionSweeper);
  const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
  const submit = (key: string, n: number, extra: Record<string, unknown> = {}) =>
    api.http.post('/v1/batches').set(auth(key)).send(jsonBatch(n, extra));
  /** Ends a batch (cancelled: no worker runs here) and moves its end `agoS` seconds back. */
  const endAgo = async (key: string, id: string, agoS: number) => {
    await api.http.post(`/v1/batches/${id}/cancel`).set(auth(key)).expect(200);
    await api.dataSource.query(
      `UPDATE batches SET cancelled_at = now() - make_interval(secs => $2) WHERE id = $1`,
      [id, agoS],
    );
  };
  const itemCount = async (id: string) =>
    (
      await api.dataSource.query<[{ n: number }]>(
        `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1`,
        [id],
      )
    )[0].n;

  it('an upload without expires_after expires FILE_RETENTION_S after upload; the list says expires_at', async () => {
    const key = await api.keyFor('files');
    const res = await api.http
      .post('/v1/files')
      .set(auth(key))
      .field('purpose', 'batch')
      .attach('file', Buffer.from('{"a":1}\n'), 'in.jsonl')
      .expect(200);
    const file = res.body as { id: string; created_at: number; expires_at: number };
    expect(file.expires_at - file.created_at).toBeGreaterThanOrEqual(24 * HOUR - 1);
    expect(file.expires_at - file.created_at).toBeLessThanOrEqual(24 * HOUR + 1);
    const list = await api.http.get('/v1/files').set(auth(key)).expect(200);
    expect((list.body as { data: { id: string; expires_at: number }[] }).data).toEqual([
      expect.objectContaining({ id: file.id, expires_at: file.expires_at }),
    ]);
  });

  it('the cleanup job deletes expired files, row and content', async () => {
    const key = await api.keyFor('files-expired');
    const res = await api.http
      .post('/v1/files')
      .set(auth(key))
      .field('purpose', 'batch')
      .attach('file', Buffer.from('{"a":1}\n'), 'in.jsonl')
      .expect(200);
    const id = (res.body as { id: string }).id;
    await api.dataSource.query(
      `UPDATE files SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    await api.http.get(`/v1/files/${id}`).set(auth(key)).expect(404);
    const report = await sweeper().runOnce();
    expect(report).toMatchObject({ leader: true });
    expect(report.files).toBeGreaterThanOrEqual(1);
    const left = await api.dataSource.query<[{ files: number; contents: number }]>(
      `SELECT (SELECT count(*) FROM files WHERE id = $1)::int AS files,
              (SELECT count(*) FROM file_contents WHERE file_id = $1)::int AS contents`,
      [id],
    );
    expect(left[0]).toEqual({ files: 0, contents: 0 });
  });

  it('results expire RESULT_RETENTION_S after the end: 410 at once, then the cleanup deletes the items in batches; the batch row stays', async () => {
    const key = await api.keyFor('results');
    const batch = (await submit(key, 250).expect(201)).body as { id: string };
    const fresh = await api.http.get(`/v1/batches/${batch.id}`).set(auth(key)).expect(200);
    expect((fresh.body as { results_expire_at: string | null }).results_expire_at).toBeNull();

    await endAgo(key, batch.id, 2 * HOUR);
    const view = (await api.http.get(`/v1/batches/${batch.id}`).set(auth(key)).expect(200))
      .body as { status: string; cancelled_at: string; results_expire_at: string };
    expect(view.status).toBe('cancelled');
    expect(Date.parse(view.results_expire_at) - Date.parse(view.cancelled_at)).toBe(HOUR * 1000);
    const listed = (await api.http.get('/v1/batches').set(auth(key)).expect(200)).body as {
      data: { id: string; results_expire_at: string }[];
    };
    expect(listed.data[0]).toMatchObject({
      id: batch.id,
      results_expire_at: view.results_expire_at,
    });

    for (const path of ['results', 'items']) {
      const gone = await api.http.get(`/v1/batches/${batch.id}/${path}`).set(auth(key)).expect(410);
      expect((gone.body as ErrorBody).error).toMatchObject({
        code: 'results_expired',
        message: expect.stringMatching(/expired at .*RESULT_RETENTION_S = 3600 s/) as unknown,
      });
    }
    expect(await itemCount(batch.id)).toBe(250);

    const report = await sweeper().runOnce();
    expect(report.leader).toBe(true);
    expect(report.batches).toBeGreaterThanOrEqual(1);
    expect(report.items).toBeGreaterThanOrEqual(250);
    expect(await itemCount(batch.id)).toBe(0);
    const after = await api.http.get(`/v1/batches/${batch.id}`).set(auth(key)).expect(200);
    expect(after.body).toMatchObject({ request_counts: { total: 250, cancelled: 250 } });
    await api.http.get(`/v1/batches/${batch.id}/results`).set(auth(key)).expect(410);
    await api.http.post(`/v1/batches/${batch.id}/retry`).set(auth(key)).expect(410);
  });

  it('a batch still within its retention keeps its results through a sweep', async () => {
    const key = await api.keyFor('results-kept');
    const batch = (await submit(key, 3).expect(201)).body as { id: string };
    await endAgo(key, batch.id, HOUR / 2);
    await sweeper().runOnce();
    expect(await itemCount(batch.id)).toBe(3);
    await api.http.get(`/v1/batches/${batch.id}/results`).set(auth(key)).expect(200);
  });

  it('canvases expire CANVAS_RETENTION_S after the end: the canvas stream answers 410', async () => {
    const key = await api.keyFor('canvases-old');
    const batch = (await submit(key, 1).expect(201)).body as { id: string };
    await endAgo(key, batch.id, 601);
    const gone = await api.http.get(`/v1/batches/${batch.id}/canvas`).set(auth(key)).expect(410);
    expect((gone.body as ErrorBody).error).toMatchObject({
      code: 'canvases_expired',
      message: expect.stringMatching(/CANVAS_RETENTION_S = 600 s/) as unknown,
    });
  });

  it('stored items past TENANT_RESULTS_QUOTA_ITEMS: 403 naming the limit and the usage; per tenant; expired results stop counting', async () => {
    const key = await api.keyFor('quota');
    const other = await api.keyFor('quota-other');
    const first = (await submit(key, 200).expect(201)).body as { id: string };
    const refused = await submit(key, 150).expect(403);
    expect((refused.body as ErrorBody).error).toMatchObject({
      code: 'storage_quota_exceeded',
      message: expect.stringMatching(
        /stores 200 item\(s\).*this batch's 150 would pass its quota of 300 \(TENANT_RESULTS_QUOTA_ITEMS\)/,
      ) as unknown,
      quota: { name: 'TENANT_RESULTS_QUOTA_ITEMS', limit: 300, used: 200, requested: 150 },
    });
    await submit(other, 150).expect(201); // another tenant has its own quota
    await submit(key, 100).expect(201); // exactly up to the quota
    await endAgo(key, first.id, 2 * HOUR); // expired: counts no more, swept or not
    await submit(key, 150).expect(201);
  });

  it('a retry counts against TENANT_RESULTS_QUOTA_ITEMS too (its items are stored again)', async () => {
    const key = await api.keyFor('retry-quota');
    const batch = (await submit(key, 200).expect(201)).body as { id: string };
    // its deadline passes with nothing run: the repair pass expires every item
    await api.dataSource.query(
      `UPDATE batches SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [batch.id],
    );
    await api.app.get(Reconciler).runOnce();
    const ended = await api.http.get(`/v1/batches/${batch.id}`).set(auth(key)).expect(200);
    expect(ended.body).toMatchObject({ status: 'expired', request_counts: { expired: 200 } });
    const refused = await api.http.post(`/v1/batches/${batch.id}/retry`).set(auth(key)).expect(403);
    expect((refused.body as ErrorBody).error).toMatchObject({
      code: 'storage_quota_exceeded',
      quota: { name: 'TENANT_RESULTS_QUOTA_ITEMS', limit: 300, used: 200, requested: 200 },
    });
  });

  it('items asking for canvases past TENANT_CANVAS_QUOTA_ITEMS: 403; batches without canvases are not limited by it', async () => {
    const key = await api.keyFor('canvas-quota');
    const canvases = { params: { intermediate_every: 1 } };
    const refused = await submit(key, 3, canvases).expect(403);
    expect((refused.body as ErrorBody).error).toMatchObject({
      code: 'storage_quota_exceeded',
      quota: { name: 'TENANT_CANVAS_QUOTA_ITEMS', limit: 2, used: 0, requested: 3 },
    });
    await submit(key, 2, canvases).expect(201);
    await submit(key, 1, canvases).expect(403);
    await submit(key, 5).expect(201);
  });

  it('one cleanup leader among API processes: a second instance does nothing while the first holds the lease', async () => {
    const second = await ApiHarness.sibling(api);
    try {
      expect((await sweeper().runOnce()).leader).toBe(true);
      expect(await second.app.get(RetentionSweeper).runOnce()).toEqual({
        leader: false,
        files: 0,
        batches: 0,
        items: 0,
      });
    } finally {
      await second.close();
    }
  });
});
