import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The OpenAI-compatible surface: uploaded files (content in Postgres or a folder), and on
 * batches where they came from (native, an OpenAI input file, an interactive completion), their
 * result files and an optional completion webhook.
 */
export class OpenAiSurface1781000100000 implements MigrationInterface {
  name = 'OpenAiSurface1781000100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE batches
        ADD COLUMN origin varchar(16) NOT NULL DEFAULT 'native'
          CHECK (origin IN ('native', 'openai', 'interactive')),
        ADD COLUMN endpoint varchar(32),
        ADD COLUMN input_file_id varchar(64),
        ADD COLUMN output_file_id varchar(64),
        ADD COLUMN error_file_id varchar(64),
        ADD COLUMN webhook_url text,
        ADD COLUMN webhook_enqueued_at timestamptz,
        ADD COLUMN webhook_delivered_at timestamptz`);
    // History hides interactive completions (one-item batches of /v1/completions).
    await db.query(`
      CREATE INDEX batches_history_listed_idx ON batches (tenant, created_at DESC, id DESC)
      WHERE origin <> 'interactive'`);
    // Webhook dispatch: ended batches whose notice is not yet queued. Stays tiny.
    await db.query(`
      CREATE INDEX batches_webhook_due_idx ON batches (id)
      WHERE webhook_url IS NOT NULL AND webhook_enqueued_at IS NULL`);

    await db.query(`
      CREATE TABLE files (
        id varchar(64) PRIMARY KEY,
        tenant varchar(64) NOT NULL,
        api_key_id uuid REFERENCES api_keys (id),
        purpose varchar(32) NOT NULL CHECK (purpose IN ('batch', 'batch_output', 'batch_error')),
        filename varchar(255) NOT NULL,
        bytes bigint NOT NULL CHECK (bytes >= 0),
        sha256 char(64),
        storage varchar(16) NOT NULL CHECK (storage IN ('postgres', 'directory', 'batch')),
        batch_id uuid REFERENCES batches (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        expires_at timestamptz,
        CHECK ((storage = 'batch') = (batch_id IS NOT NULL))
      )`);
    await db.query(`CREATE INDEX files_list_idx ON files (tenant, created_at DESC, id DESC)`);
    // A batch has at most one output and one error file (they are views of its results).
    await db.query(
      `CREATE UNIQUE INDEX files_batch_purpose_key ON files (batch_id, purpose) WHERE batch_id IS NOT NULL`,
    );
    await db.query(`
      CREATE TABLE file_contents (
        file_id varchar(64) PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
        content bytea NOT NULL
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE file_contents`);
    await db.query(`DROP TABLE files`);
    await db.query(`DROP INDEX batches_webhook_due_idx`);
    await db.query(`DROP INDEX batches_history_listed_idx`);
    await db.query(`
      ALTER TABLE batches
        DROP COLUMN origin, DROP COLUMN endpoint, DROP COLUMN input_file_id,
        DROP COLUMN output_file_id, DROP COLUMN error_file_id, DROP COLUMN webhook_url,
        DROP COLUMN webhook_enqueued_at, DROP COLUMN webhook_delivered_at`);
  }
}
