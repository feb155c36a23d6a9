import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retry links: a retry batch names the batch it retries (`retry_of`); the retried batch names its
 * latest retry (`retried_by`), so both views show the link without a join.
 */
export class BatchRetryLinks1781000000000 implements MigrationInterface {
  name = 'BatchRetryLinks1781000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE batches
        ADD COLUMN retry_of uuid REFERENCES batches (id) ON DELETE SET NULL,
        ADD COLUMN retried_by uuid REFERENCES batches (id) ON DELETE SET NULL`);
    await db.query(
      `CREATE INDEX batches_retry_of_idx ON batches (retry_of) WHERE retry_of IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX batches_retry_of_idx`);
    await db.query(`ALTER TABLE batches DROP COLUMN retried_by, DROP COLUMN retry_of`);
  }
}
