import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The step budget an item ran with: `budget` (fixed or auto), the threshold it actually used (the
 * budget controller's pick for auto rows) and its forward cap. Null for items that never ran.
 */
export class ItemBudget1784000000000 implements MigrationInterface {
  name = 'ItemBudget1784000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE batch_items ADD COLUMN budget varchar(8),
                               ADD COLUMN applied_threshold double precision,
                               ADD COLUMN applied_max_steps integer`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE batch_items DROP COLUMN budget, DROP COLUMN applied_threshold, DROP COLUMN applied_max_steps`,
    );
  }
}
