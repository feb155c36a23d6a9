import { ADMIN_KEY, ApiHarness } from './support/api-harness';

interface Listed {
  id: string;
  tenant: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The admin surface: wrong admin keys are throttled per address; every key can be listed. */
describe('admin API', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await ApiHarness.start({ ADMIN_AUTH_FAILURES: '3', ADMIN_AUTH_WINDOW_S: '60' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('lists keys with tenant, name, created and last used (never the key), revoked ones too', async () => {
    const used = await api.keyFor('listed');
    const idle = await api.keyFor('listed-idle');
    await api.http.get('/v1/batches').set('Authorization', `Bearer ${used}`).expect(200);
    const listed = async () =>
      (
        (
          await api.http
            .get('/v1/admin/api-keys')
            .set('Authorization', `Bearer ${ADMIN_KEY}`)
            .expect(200)
        ).body as { data: Listed[] }
      ).data;
    let rows = await listed();
    const usedRow = rows.find((r) => r.tenant === 'listed')!;
    const idleRow = rows.find((r) => r.tenant === 'listed-idle')!;
    expect(usedRow).toEqual({
      id: expect.any(String) as unknown,
      tenant: 'listed',
      name: 'listed key',
      created_at: expect.any(String) as unknown,
      last_used_at: expect.any(String) as unknown,
      revoked_at: null,
    });
    expect(Date.now() - Date.parse(usedRow.last_used_at!)).toBeLessThan(60_000);
    expect(idleRow.last_used_at).toBeNull();
    expect(JSON.stringify(rows)).not.toContain(used);
    expect(JSON.stringify(rows)).not.toContain(idle);
    await api.http
      .delete(`/v1/admin/api-keys/${idleRow.id}`)
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .expect(200);
    rows = await listed();
    expect(rows.find((r) => r.id === idleRow.id)!.revoked_at).toEqual(expect.any(String));
  });

  it('after ADMIN_AUTH_FAILURES wrong admin keys, that address gets 429, even with the right key', async () => {
    const tenant = await api.keyFor('not-admin');
    // a tenant key is a wrong admin key too
    await api.http.get('/v1/admin/api-keys').set('Authorization', `Bearer ${tenant}`).expect(401);
    for (let i = 0; i < 2; i++)
      await api.http
        .get('/v1/admin/api-keys')
        .set('Authorization', `Bearer wrong-${i}`)
        .expect(401);
    const blocked = await api.http
      .get('/v1/admin/api-keys')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .expect(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((blocked.body as { error: { message: string } }).error.message).toMatch(
      /more than 3 wrong admin keys from this address in 60 s \(ADMIN_AUTH_FAILURES\)/,
    );
  });
});
