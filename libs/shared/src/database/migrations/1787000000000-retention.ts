import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention and storage quotas (RESULT_RETENTION_S, FILE_RETENTION_S, TENANT_*_QUOTA_ITEMS):
 * when the cleanup job deleted a batch's items (the batch row stays, its results answer 410), how
 * many of its items asked for canvases, and the indexes the cleanup job and the quota checks read.
 */
export class Retention1787000000000 implements MigrationInterface {
  name = 'Retention1787000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batches ADD COLUMN results_purged_at timestamptz`);
    await db.query(
      `ALTER TABLE batches ADD COLUMN canvas_items integer NOT NULL DEFAULT 0 CHECK (canvas_items >= 0)`,
    );
    // the quota checks: a tenant's batches still holding their items
    await db.query(
      `CREATE INDEX batches_stored_idx ON batches (tenant) WHERE results_purged_at IS NULL`,
    );
    // the cleanup job: ended batches, oldest end first, whose items are still there
    await db.query(
      `CREATE INDEX batches_purge_due_idx
       ON batches ((coalesce(completed_at, failed_at, cancelled_at, expired_at)))
       WHERE results_purged_at IS NULL AND status IN ('completed', 'failed', 'cancelled', 'expired')`,
    );
    await db.query(
      `CREATE INDEX files_expiry_idx ON files (expires_at)
       WHERE batch_id IS NULL AND expires_at IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX files_expiry_idx`);
    await db.query(`DROP INDEX batches_purge_due_idx`);
    await db.query(`DROP INDEX batches_stored_idx`);
    await db.query(`ALTER TABLE batches DROP COLUMN canvas_items`);
    await db.query(`ALTER TABLE batches DROP COLUMN results_purged_at`);
  }
}
