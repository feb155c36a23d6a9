import type { DataSourceOptions } from 'typeorm';
import type { Config } from '../config/config.schema';
import { ApiKeyEntity } from './entities/api-key.entity';
import { BatchEntity } from './entities/batch.entity';
import { BatchItemEntity } from './entities/batch-item.entity';
import { FileEntity } from './entities/file.entity';
import { InitialSchema1780000000000 } from './migrations/1780000000000-initial-schema';
import { BatchRetryLinks1781000000000 } from './migrations/1781000000000-batch-retry-links';
import { OpenAiSurface1781000100000 } from './migrations/1781000100000-openai-surface';
import { ItemProvider1782000000000 } from './migrations/1782000000000-item-provider';
import { RepairState1783000000000 } from './migrations/1783000000000-repair-state';
import { ItemBudget1784000000000 } from './migrations/1784000000000-item-budget';
import { EndedEvent1785500000000 } from './migrations/1785500000000-ended-event';
import { KeyLastUsed1786100000000 } from './migrations/1786100000000-key-last-used';
import { Retention1787000000000 } from './migrations/1787000000000-retention';

export const ENTITIES = [ApiKeyEntity, BatchEntity, BatchItemEntity, FileEntity];

/** Every migration, oldest first. Classes, not globs, so bundles and ts/js builds find the same set. */
export const MIGRATIONS = [
  InitialSchema1780000000000,
  BatchRetryLinks1781000000000,
  OpenAiSurface1781000100000,
  ItemProvider1782000000000,
  RepairState1783000000000,
  ItemBudget1784000000000,
  EndedEvent1785500000000,
  KeyLastUsed1786100000000,
  Retention1787000000000,
];

/** TypeORM options for both apps and the migrate command. The schema only changes by migration. */
export function dataSourceOptions(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'> &
    Partial<
      Pick<
        Config,
        | 'DATABASE_STATEMENT_TIMEOUT_MS'
        | 'DATABASE_CONNECT_TIMEOUT_MS'
        | 'DATABASE_IDLE_TX_TIMEOUT_MS'
      >
    >,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    poolSize: config.DATABASE_POOL_SIZE,
    logging: false,
    // A stuck query or a dead server must fail the request, not hold a pooled connection forever.
    connectTimeoutMS: config.DATABASE_CONNECT_TIMEOUT_MS,
    extra: {
      statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS || undefined,
      idle_in_transaction_session_timeout: config.DATABASE_IDLE_TX_TIMEOUT_MS || undefined,
      keepAlive: true,
    },
  };
}
