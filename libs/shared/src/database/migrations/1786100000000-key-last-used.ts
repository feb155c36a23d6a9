import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When an API key last authenticated a request (to the minute), so a leaked key can be found. */
export class KeyLastUsed1786100000000 implements MigrationInterface {
  name = 'KeyLastUsed1786100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_keys DROP COLUMN last_used_at`);
  }
}
