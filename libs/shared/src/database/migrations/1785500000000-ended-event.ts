import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a batch's end was announced on the live event path (its batch-ended event appended to
 * Redis). Null on an ended batch means not yet: the repair loop announces it. Batches that ended
 * before this column existed count as announced.
 */
export class EndedEvent1785500000000 implements MigrationInterface {
  name = 'EndedEvent1785500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batches ADD COLUMN ended_event_at timestamptz`);
    await db.query(
      `UPDATE batches SET ended_event_at = now()
       WHERE status IN ('completed', 'failed', 'cancelled', 'expired')`,
    );
    await db.query(
      `CREATE INDEX batches_unannounced_idx ON batches (id)
       WHERE ended_event_at IS NULL AND status IN ('completed', 'failed', 'cancelled', 'expired')`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX batches_unannounced_idx`);
    await db.query(`ALTER TABLE batches DROP COLUMN ended_event_at`);
  }
}
