import { BATCH_ENDED_AT_SQL, TERMINAL_STATUSES_SQL, type Config } from '@dllm/shared';
import type { QueryRunner } from 'typeorm';
import { ApiError } from '../common/api-error';

/** A tenant's storage limits for batches (0 = no limit), from the config. */
export interface StorageQuota {
  /** TENANT_RESULTS_QUOTA_ITEMS */
  items: number;
  /** TENANT_CANVAS_QUOTA_ITEMS */
  canvasItems: number;
  /** RESULT_RETENTION_S: results past it no longer count, whether or not the cleanup ran yet */
  resultRetentionS: number;
  /** CANVAS_RETENTION_S: canvases of batches ended longer ago are gone from Redis */
  canvasRetentionS: number;
}

export function storageQuotaOf(config: Config): StorageQuota {
  return {
    items: config.TENANT_RESULTS_QUOTA_ITEMS,
    canvasItems: config.TENANT_CANVAS_QUOTA_ITEMS,
    resultRetentionS: config.RESULT_RETENTION_S,
    canvasRetentionS: config.CANVAS_RETENTION_S,
  };
}

/**
 * Inside the transaction that inserts a batch: refuses it (403, naming the limit and the usage)
 * when its items would take the tenant past a quota. The tenant's submissions are serialised for
 * the check, so two at once cannot both squeeze in.
 */
export async function assertStorageQuota(
  tx: QueryRunner,
  tenant: string,
  adding: { items: number; canvasItems: number },
  quota: StorageQuota,
): Promise<void> {
  const checkCanvases = quota.canvasItems > 0 && adding.canvasItems > 0;
  if (quota.items === 0 && !checkCanvases) return;
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('batches:' || $1))`, [tenant]);
  const [usage] = (await tx.query(
    `SELECT coalesce(sum(total_count) FILTER (WHERE NOT results_expired), 0)::bigint AS items,
            coalesce(sum(canvas_items) FILTER (WHERE NOT canvases_expired), 0)::bigint AS canvas_items
     FROM (SELECT total_count, canvas_items,
                  -- an open batch (ended null) has expired nothing
                  coalesce($2 > 0 AND ended <= now() - make_interval(secs => $2), false) AS results_expired,
                  coalesce(ended <= now() - make_interval(secs => $3), false) AS canvases_expired
           FROM (SELECT total_count, canvas_items,
                        CASE WHEN status IN ${TERMINAL_STATUSES_SQL} THEN ${BATCH_ENDED_AT_SQL} END AS ended
                 FROM batches WHERE tenant = $1 AND results_purged_at IS NULL) b) s`,
    [tenant, quota.resultRetentionS, quota.canvasRetentionS],
  )) as [{ items: string; canvas_items: string }];
  const items = Number(usage.items);
  if (quota.items > 0 && items + adding.items > quota.items) {
    throw refused(
      `this tenant stores ${items} item(s) (batches whose results have not expired); this batch's ` +
        `${adding.items} would pass its quota of ${quota.items} (TENANT_RESULTS_QUOTA_ITEMS); ` +
        'wait for older results to expire (RESULT_RETENTION_S) or submit fewer items',
      'TENANT_RESULTS_QUOTA_ITEMS',
      quota.items,
      items,
      adding.items,
    );
  }
  const canvasItems = Number(usage.canvas_items);
  if (checkCanvases && canvasItems + adding.canvasItems > quota.canvasItems) {
    throw refused(
      `this tenant keeps canvases of ${canvasItems} item(s) (open batches and batches ended within ` +
        `CANVAS_RETENTION_S); this batch's ${adding.canvasItems} item(s) with intermediate_every > 0 ` +
        `would pass its quota of ${quota.canvasItems} (TENANT_CANVAS_QUOTA_ITEMS); ` +
        'ask for canvases on fewer items, or wait for open batches to end',
      'TENANT_CANVAS_QUOTA_ITEMS',
      quota.canvasItems,
      canvasItems,
      adding.canvasItems,
    );
  }
}

function refused(
  message: string,
  limitName: string,
  limit: number,
  used: number,
  requested: number,
): ApiError {
  return new ApiError(403, 'storage_quota_exceeded', message, undefined, {
    quota: { name: limitName, limit, used, requested },
  });
}
