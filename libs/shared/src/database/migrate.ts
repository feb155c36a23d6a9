// `npm run migrate`: applies pending migrations to DATABASE_URL, then exits (0 = schema current).
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/config.schema';
import { dataSourceOptions } from './data-source';

/** Arbitrary constant naming "dllm-batch schema migrations" in pg_advisory_lock. */
const MIGRATION_LOCK = 7_461_309_221;

/**
 * Runs pending migrations; returns the names applied. TypeORM itself does not lock, so two
 * processes starting together serialise on an advisory lock instead of racing on DDL.
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const dataSource = new DataSource(
    dataSourceOptions({ DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: 2 }),
  );
  await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.release();
    await dataSource.destroy();
  }
}

if (require.main === module) {
  const config = loadConfig();
  migrate(config.DATABASE_URL)
    .then((applied) => {
      const target = new URL(config.DATABASE_URL);
      target.password = '';
      console.log(
        JSON.stringify({ msg: 'migrations applied', database: target.toString(), applied }),
      );
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
