import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '@dllm/shared';
import { DATABASE_ADMIN_URL } from './services';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database per test file (on `adminUrl`'s server), brought up by the real migrations. */
export async function createTestDatabase(adminUrl = DATABASE_ADMIN_URL): Promise<TestDatabase> {
  const name = `dllm_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
