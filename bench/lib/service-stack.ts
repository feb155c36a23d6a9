import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '@dllm/shared';

const API_MAIN = 'dist/apps/api/apps/api/src/main.js';
const WORKER_MAIN = 'dist/apps/worker/apps/worker/src/main.js';

/**
 * The real deployment shape on this machine: the built API and worker as separate processes
 * (node dist/...), a scratch Postgres database migrated for the run, a scratch BullMQ prefix.
 */
export class ServiceStack {
  private readonly adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  readonly prefix = `bench_${randomBytes(4).toString('hex')}`;
  private apiPort = 0;
  private readonly dbName = `dllm_bench_${randomBytes(4).toString('hex')}`;
  private readonly children: ChildProcess[] = [];

  constructor(
    private readonly adminUrl = process.env.BENCH_DATABASE_ADMIN_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
    readonly redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  ) {}

  get databaseUrl(): string {
    const u = new URL(this.adminUrl);
    u.pathname = `/${this.dbName}`;
    return u.toString();
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  async createDatabase(): Promise<void> {
    await this.admin(`CREATE DATABASE ${this.dbName}`);
    await migrate(this.databaseUrl);
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      ADMIN_API_KEY: this.adminKey,
      API_PORT: String(this.apiPort),
      // the benches poll one key far faster than the per-key limits allow: measure, don't limit
      RATE_LIMIT_REQUESTS: '0',
      MAX_CONCURRENT_UPLOADS: '0',
      ...extra,
    };
  }

  /** Starts the built API on a free port; `onLog` receives its stdout (JSON log lines). */
  async startApi(
    extra: Record<string, string> = {},
    onLog?: (line: string) => void,
  ): Promise<ChildProcess> {
    this.apiPort = await freePort();
    const child = this.spawn(API_MAIN, extra, onLog);
    await this.waitHttp(`${this.baseUrl}/readyz`, 60_000);
    return child;
  }

  /** A fresh tenant key, issued through the admin route. */
  async issueKey(tenant: string): Promise<string> {
    const res = await new ApiClient(this.baseUrl, this.adminKey).request<{ key: string }>(
      'POST',
      '/v1/admin/api-keys',
      { tenant, name: tenant },
    );
    if (res.status !== 201) throw new Error(`issuing a key answered ${res.status}`);
    return res.body.key;
  }

  async startWorker(
    metricsPort: number,
    extra: Record<string, string> = {},
  ): Promise<ChildProcess> {
    const child = this.spawn(WORKER_MAIN, { WORKER_METRICS_PORT: String(metricsPort), ...extra });
    await this.waitHttp(`http://127.0.0.1:${metricsPort}/readyz`, 60_000);
    return child;
  }

  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** Everything this run made goes away: processes, database, queue keys. */
  async teardown(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    const redis = new Redis(this.redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await this.admin(`DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`);
  }

  private spawn(
    main: string,
    extra: Record<string, string>,
    onLog?: (line: string) => void,
  ): ChildProcess {
    if (!existsSync(main)) throw new Error(`${main} missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [main], {
      env: this.env(extra),
      stdio: ['ignore', onLog ? 'pipe' : 'ignore', 'inherit'],
    });
    if (onLog) {
      let pending = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop()!;
        lines.forEach(onLog);
      });
    }
    this.children.push(child);
    return child;
  }

  private async waitHttp(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await fetch(url)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async admin(sql: string): Promise<void> {
    const c = new Client({ connectionString: this.adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Small REST client for the bench (fetch, bearer key, JSON). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
  ) {}

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
}
