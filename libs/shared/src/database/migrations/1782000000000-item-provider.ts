import type { MigrationInterface, QueryRunner } from 'typeorm';

/** batch_items.provider: the execution provider (webgpu, cuda, cpu) that ran the item's forwards. */
export class ItemProvider1782000000000 implements MigrationInterface {
  name = 'ItemProvider1782000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batch_items ADD COLUMN provider varchar(16)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batch_items DROP COLUMN provider`);
  }
}
