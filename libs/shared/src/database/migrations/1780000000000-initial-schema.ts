import type { MigrationInterface, QueryRunner } from 'typeorm';

/** api_keys, batches, batch_items, and the indexes the API's reads and the reconciler need. */
export class InitialSchema1780000000000 implements MigrationInterface {
  name = 'InitialSchema1780000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant varchar(64) NOT NULL,
        name varchar(128) NOT NULL,
        key_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash)`);
    await db.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant)`);

    await db.query(`
      CREATE TABLE batches (
        id uuid PRIMARY KEY,
        tenant varchar(64) NOT NULL,
        api_key_id uuid NOT NULL REFERENCES api_keys (id),
        status varchar(16) NOT NULL CHECK (status IN
          ('queued', 'in_progress', 'completed', 'failed', 'cancelling', 'cancelled', 'expired')),
        model varchar(128) NOT NULL,
        params jsonb NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        completion_window integer NOT NULL CHECK (completion_window > 0),
        expires_at timestamptz NOT NULL,
        idempotency_key varchar(255),
        request_hash char(64),
        total_count integer NOT NULL CHECK (total_count > 0),
        completed_count integer NOT NULL DEFAULT 0,
        failed_count integer NOT NULL DEFAULT 0,
        cancelled_count integer NOT NULL DEFAULT 0,
        expired_count integer NOT NULL DEFAULT 0,
        total_tokens bigint NOT NULL DEFAULT 0,
        total_prompt_tokens bigint NOT NULL DEFAULT 0,
        total_compute_ms bigint NOT NULL DEFAULT 0,
        total_forwards bigint NOT NULL DEFAULT 0,
        total_queue_ms bigint NOT NULL DEFAULT 0,
        timed_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        enqueued_at timestamptz,
        in_progress_at timestamptz,
        completed_at timestamptz,
        failed_at timestamptz,
        cancelling_at timestamptz,
        cancelled_at timestamptz,
        expired_at timestamptz,
        CHECK (idempotency_key IS NULL OR request_hash IS NOT NULL),
        CHECK (completed_count + failed_count + cancelled_count + expired_count <= total_count)
      )`);
    // Idempotency: one batch per (tenant, key); a concurrent duplicate loses on this index.
    await db.query(`
      CREATE UNIQUE INDEX batches_tenant_idempotency_key ON batches (tenant, idempotency_key)
      WHERE idempotency_key IS NOT NULL`);
    // History: newest first per tenant, keyset on (created_at, id), optionally by status or model.
    await db.query(
      `CREATE INDEX batches_history_idx ON batches (tenant, created_at DESC, id DESC)`,
    );
    await db.query(
      `CREATE INDEX batches_history_status_idx ON batches (tenant, status, created_at DESC, id DESC)`,
    );
    await db.query(
      `CREATE INDEX batches_history_model_idx ON batches (tenant, model, created_at DESC, id DESC)`,
    );
    // metadata[key]=value filters are containment tests (metadata @> '{"key":"value"}').
    await db.query(
      `CREATE INDEX batches_metadata_idx ON batches USING gin (metadata jsonb_path_ops)`,
    );
    // Reconciler: committed but never enqueued, and open batches by deadline. Both stay tiny.
    await db.query(
      `CREATE INDEX batches_unenqueued_idx ON batches (created_at) WHERE enqueued_at IS NULL`,
    );
    await db.query(`
      CREATE INDEX batches_open_expires_idx ON batches (expires_at)
      WHERE status IN ('queued', 'in_progress')`);

    await db.query(`
      CREATE TABLE batch_items (
        batch_id uuid NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        index integer NOT NULL CHECK (index >= 0),
        custom_id varchar(64) NOT NULL,
        prompt text,
        prefix text,
        suffix text,
        params jsonb NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'queued' CHECK (status IN
          ('queued', 'in_progress', 'completed', 'failed', 'cancelled', 'expired')),
        output text,
        finish_reason varchar(16),
        steps integer,
        tokens integer,
        prompt_tokens integer,
        queue_ms integer,
        compute_ms integer,
        seed integer,
        worker_id varchar(128),
        attempts integer NOT NULL DEFAULT 0,
        error text,
        started_at timestamptz,
        finished_at timestamptz,
        PRIMARY KEY (batch_id, index),
        CHECK ((prompt IS NOT NULL AND prefix IS NULL AND suffix IS NULL)
            OR (prompt IS NULL AND prefix IS NOT NULL AND suffix IS NOT NULL))
      )`);
    await db.query(
      `CREATE UNIQUE INDEX batch_items_custom_id_key ON batch_items (batch_id, custom_id)`,
    );
    // GET /items?status=..., and "what is still queued / in progress" during cancel and expiry.
    await db.query(`CREATE INDEX batch_items_status_idx ON batch_items (batch_id, status, index)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE batch_items`);
    await db.query(`DROP TABLE batches`);
    await db.query(`DROP TABLE api_keys`);
  }
}
