import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the repair loop and poison isolation need: per-item runs alone (isolated_runs) and a
 * machine-readable failure reason; per-batch chunk size (so a changed BATCH_CHUNK_SIZE never
 * maps an old batch's items to the wrong job); an index of open, enqueued batches.
 */
export class RepairState1783000000000 implements MigrationInterface {
  name = 'RepairState1783000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE batch_items ADD COLUMN isolated_runs integer NOT NULL DEFAULT 0,
                               ADD COLUMN failure_reason varchar(32)`,
    );
    await db.query(`ALTER TABLE batches ADD COLUMN chunk_size integer CHECK (chunk_size > 0)`);
    await db.query(`
      CREATE INDEX batches_open_enqueued_idx ON batches (created_at)
      WHERE status IN ('queued', 'in_progress', 'cancelling') AND enqueued_at IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX batches_open_enqueued_idx`);
    await db.query(`ALTER TABLE batches DROP COLUMN chunk_size`);
    await db.query(`ALTER TABLE batch_items DROP COLUMN isolated_runs, DROP COLUMN failure_reason`);
  }
}
