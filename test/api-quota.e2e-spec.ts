import { ApiHarness } from './support/api-harness';

/** A tenant's uploaded files fit TENANT_FILES_QUOTA_MB: past it an upload gets 403 naming the quota. */
describe('tenant file quota', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await ApiHarness.start({ TENANT_FILES_QUOTA_MB: '1', FILE_MAX_MB: '1' });
  });

  afterAll(async () => {
    await api?.close();
  });

  const upload = (key: string, bytes: number) =>
    api.http
      .post('/v1/files')
      .set('Authorization', `Bearer ${key}`)
      .field('purpose', 'batch')
      .attach('file', Buffer.alloc(bytes, 0x61), 'in.jsonl');

  it('refuses the upload that would pass the quota, counts per tenant, and frees space on delete', async () => {
    const key = await api.keyFor('quota');
    const other = await api.keyFor('quota-other');
    const first = await upload(key, 600_000).expect(200);
    const refused = await upload(key, 600_000).expect(403);
    expect((refused.body as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'storage_quota_exceeded',
      message: expect.stringMatching(
        /over its 1\.0 MiB quota \(TENANT_FILES_QUOTA_MB\)/,
      ) as unknown,
    });
    await upload(other, 600_000).expect(200); // another tenant has its own quota
    await api.http
      .delete(`/v1/files/${(first.body as { id: string }).id}`)
      .set('Authorization', `Bearer ${key}`)
      .expect(200);
    await upload(key, 600_000).expect(200);
  });
});
