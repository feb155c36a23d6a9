import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Rows of a statement. TypeORM's plain `query()` returns `[rows, count]` for UPDATE/DELETE
 * (RETURNING included) and bare rows otherwise; the structured result is the same for all.
 */
export async function rows<T>(
  runner: QueryRunner,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const result = await runner.query(text, params, true);
  return (result.records ?? []) as T[];
}

/** Runs `work` in one transaction on one pooled connection; rolls back on any error. */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    const result = await work(runner);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  } finally {
    await runner.release();
  }
}

/** Runs one statement outside a transaction and returns its rows (see `rows`). */
export async function queryRows<T>(
  dataSource: DataSource,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const runner = dataSource.createQueryRunner();
  try {
    return await rows<T>(runner, text, params);
  } finally {
    await runner.release();
  }
}

/** Postgres error code of a failed query (TypeORM wraps the driver's error), e.g. '23505'. */
export function pgErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

export const UNIQUE_VIOLATION = '23505';
