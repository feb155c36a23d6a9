import { appendFileSync } from 'node:fs';
import type { Client } from 'pg';

export interface Audit {
  status: string;
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
  /** failed items by failure_reason */
  reasons: Record<string, number>;
  /** items whose terminal write the audit trigger saw more than once (must be 0) */
  writtenTwice: number;
  /** items the audit trigger never saw end (must be 0) */
  neverEnded: number;
  /** items claimed more than once (recovered from a fault) */
  retried: number;
}

/**
 * Every item of the batch ended exactly once (the audit trigger's table, installWriteAudit),
 * nothing is left open anywhere in the database, and the counters agree with the items.
 */
export async function auditBatch(db: Client, batchId: string): Promise<Audit> {
  const batch = (
    await db.query<{
      status: string;
      total_count: number;
      completed_count: number;
      failed_count: number;
      cancelled_count: number;
      expired_count: number;
    }>(`SELECT * FROM batches WHERE id = $1`, [batchId])
  ).rows[0]!;
  const writes = (
    await db.query<{ n: number; items: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT index)::int AS items FROM item_writes WHERE batch_id = $1`,
      [batchId],
    )
  ).rows[0]!;
  const twice = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT index FROM item_writes WHERE batch_id = $1 GROUP BY index HAVING count(*) > 1) t`,
      [batchId],
    )
  ).rows[0]!;
  const open = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status NOT IN ('completed', 'failed', 'cancelled', 'expired')`,
      [batchId],
    )
  ).rows[0]!;
  const reasons = (
    await db.query<{ reason: string; n: number }>(
      `SELECT failure_reason AS reason, count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status = 'failed' GROUP BY 1`,
      [batchId],
    )
  ).rows;
  const retried = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts > 1`,
      [batchId],
    )
  ).rows[0]!;
  const byStatus = (
    await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM batch_items WHERE batch_id = $1 GROUP BY 1`,
      [batchId],
    )
  ).rows;
  const count = (s: string) => byStatus.find((r) => r.status === s)?.n ?? 0;
  // the counters are what users read: they must match the items themselves
  if (count('completed') !== batch.completed_count || count('failed') !== batch.failed_count) {
    throw new Error(
      `batch counters (${batch.completed_count} completed, ${batch.failed_count} failed) disagree with its items (${count('completed')}, ${count('failed')})`,
    );
  }
  return {
    status: batch.status,
    total: batch.total_count,
    completed: batch.completed_count,
    failed: batch.failed_count,
    cancelled: batch.cancelled_count,
    expired: batch.expired_count,
    reasons: Object.fromEntries(reasons.map((r) => [r.reason ?? 'none', r.n])),
    writtenTwice: twice.n,
    neverEnded: batch.total_count - writes.items + open.n,
    retried: retried.n,
  };
}

/** Open batches anywhere in the database (a case must end with none). */
export async function openBatches(db: Client): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM batches WHERE status IN ('queued', 'in_progress', 'cancelling')`,
  );
  return r.rows[0]!.n;
}

/** One line per case for the README's reliability table (CHAOS_RESULTS=path appends JSON lines). */
export function recordCase(
  name: string,
  audit: Audit,
  seconds: number,
  extra: Record<string, unknown> = {},
): void {
  const line = JSON.stringify({
    case: name,
    seconds: Math.round(seconds * 10) / 10,
    ...audit,
    ...extra,
  });
  console.log(`chaos result: ${line}`);
  if (process.env.CHAOS_RESULTS) appendFileSync(process.env.CHAOS_RESULTS, `${line}\n`);
}
