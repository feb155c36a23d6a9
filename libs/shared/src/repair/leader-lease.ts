import { Client } from 'pg';

/**
 * "Am I the one repair leader?" A Postgres session-level advisory lock on a connection of its
 * own: held while that session lives, released by Postgres itself when the process or its
 * connection dies, so a crashed leader never blocks the others. Every repair action is
 * idempotent, so two leaders for a moment (a connection lost but not yet noticed) only waste work.
 */
export class LeaderLease {
  private client: Client | null = null;
  private held = false;

  constructor(
    private readonly databaseUrl: string,
    /** names the lock; hashed by Postgres into the 64-bit advisory lock key */
    private readonly name: string,
    private readonly connectTimeoutMs = 5000,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  /** true when this process holds the lease now (acquiring it if free). Never throws. */
  async acquire(): Promise<boolean> {
    try {
      if (this.client && this.held) {
        // a live session still holds its lock; a dead one throws here
        await this.client.query('SELECT 1');
        return true;
      }
      this.client ??= await this.connect();
      const result = await this.client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [this.name],
      );
      this.held = result.rows[0]?.ok === true;
      return this.held;
    } catch {
      this.drop();
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.held = false;
    if (!client) return;
    // ending the session releases its advisory locks
    await client.end().catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      connectionString: this.databaseUrl,
      connectionTimeoutMillis: this.connectTimeoutMs,
      keepAlive: true,
      statement_timeout: this.connectTimeoutMs,
    });
    client.on('error', () => this.drop());
    await client.connect();
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = null;
    this.held = false;
    client?.end().catch(() => undefined);
  }
}
