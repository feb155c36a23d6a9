import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Client } from 'pg';
import {
  addChunkJobs,
  chunkQueueName,
  chunkJobOptions,
  chunkJobs,
  type ChunkJobData,
} from '@dllm/shared';
import { REDIS_URL } from './services';
import { parseGenerationParams, type GenerationParamsInput } from '@dllm/engine/params';

/**
 * Writes a batch the way the API's submit path leaves it (rows committed, chunk jobs enqueued), for
 * worker tests that must not depend on HTTP. The API's own tests cover the submit path itself.
 */
export async function seedBatch(
  db: Client,
  queue: Queue<ChunkJobData>,
  opts: {
    items: number;
    params: GenerationParamsInput;
    chunkSize: number;
    prompt?: (i: number) => string;
    attempts?: number;
    enqueue?: boolean;
    /** the batch's model (default: the bundled one); its chunks go to that model's queue */
    model?: string;
  },
): Promise<string> {
  const key = await db.query<{ id: string }>(
    `INSERT INTO api_keys (tenant, name, key_hash) VALUES ('t', 'k', md5(random()::text) || md5(random()::text)) RETURNING id`,
  );
  const id = randomUUID();
  const params = parseGenerationParams(opts.params);
  await db.query(
    `INSERT INTO batches (id, tenant, api_key_id, status, model, params, completion_window, expires_at, total_count, enqueued_at, chunk_size)
     VALUES ($1, 't', $2, 'queued', $6, $3, 86400, now() + interval '1 day', $4, now(), $5)`,
    [
      id,
      key.rows[0]!.id,
      JSON.stringify(params),
      opts.items,
      opts.chunkSize,
      opts.model ?? 'dllm-code-small',
    ],
  );
  const prompt = opts.prompt ?? ((i: number) => `def function_${i}(x):`);
  await db.query(
    `INSERT INTO batch_items (batch_id, index, custom_id, prompt, params)
     SELECT $1, i, 'item-' || i, p, $3::jsonb FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n), LATERAL (SELECT n - 1 AS i) x`,
    [id, Array.from({ length: opts.items }, (_, i) => prompt(i)), JSON.stringify(params)],
  );
  if (opts.enqueue !== false) {
    await addChunkJobs(
      queue,
      chunkJobs(id, opts.items, opts.chunkSize),
      chunkJobOptions({ JOB_ATTEMPTS: opts.attempts ?? 5, JOB_BACKOFF_MS: 500 }),
    );
  }
  return id;
}

/** The chunk queue of `model` (default: the bundled one). */
export function chunkQueue(
  prefix: string,
  redisUrl = REDIS_URL,
  model = 'dllm-code-small',
): Queue<ChunkJobData> {
  const url = new URL(redisUrl);
  return new Queue<ChunkJobData>(chunkQueueName(model), {
    connection: { host: url.hostname, port: Number(url.port || 6379) },
    prefix,
  });
}

/** Test-only audit: one row per item transition into a terminal state, to prove "written once". */
export async function installWriteAudit(db: Client): Promise<void> {
  await db.query(`
    CREATE TABLE item_writes (batch_id uuid, index int, status text, at timestamptz DEFAULT clock_timestamp());
    CREATE FUNCTION audit_item_write() RETURNS trigger AS $$
    BEGIN INSERT INTO item_writes (batch_id, index, status) VALUES (NEW.batch_id, NEW.index, NEW.status); RETURN NEW; END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER item_writes AFTER UPDATE OF status ON batch_items FOR EACH ROW
      WHEN (NEW.status IN ('completed', 'failed', 'cancelled', 'expired') AND OLD.status IS DISTINCT FROM NEW.status)
      EXECUTE FUNCTION audit_item_write();`);
}
