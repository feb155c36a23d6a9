import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Client } from 'pg';
import type { Queue } from 'bullmq';
import type { ChunkJobData } from '@dllm/shared';
import { chunkQueue, installWriteAudit, seedBatch } from '../seed-batch';
import { createTestDatabase, type TestDatabase } from '../test-database';
import { waitFor } from '../wait-for';
import { startWorker, type WorkerHandle } from '../worker-process';
import { freePort } from '../ports';
import { PostgresInstance } from './postgres-instance';
import { RedisInstance } from './redis-instance';

const API_MAIN = 'dist/apps/api/apps/api/src/main.js';
export const CHAOS_ADMIN_KEY = 'chaos-admin-key-0123456789abcdef0123';

/** Settings every process of a chaos run shares: short locks and a fast repair loop. */
const FAST_RECOVERY: Record<string, string> = {
  QUEUE_PREFIX: 'chaos',
  LOG_LEVEL: 'warn',
  WORKER_LOCK_MS: '4000',
  WORKER_STALLED_CHECK_MS: '2000',
  WORKER_DRAIN_MS: '2000',
  JOB_BACKOFF_MS: '1000',
  RECONCILE_INTERVAL_MS: '1000',
  REPAIR_GRACE_MS: '3000',
  ENQUEUE_GRACE_MS: '3000',
  DATABASE_POOL_SIZE: '6',
  BATCH_CHUNK_SIZE: '32',
  // several workers share 2 cores: one onnxruntime thread each, no spinning threads fighting
  ENGINE_INTRA_OP_THREADS: '1',
};

export interface SupervisedWorker {
  /** the current process (replaced after each restart) */
  current: WorkerHandle;
  metricsPort: number;
  restarts: number;
}

/**
 * A whole deployment the test may break: its own Redis and Postgres (own ports and data
 * directories), real worker processes under a restart policy (as compose's
 * `restart: unless-stopped`), and optionally the built API. Everything is found through the
 * REDIS_URL / DATABASE_URL handed to each process.
 */
export class ChaosStack {
  readonly workers: SupervisedWorker[] = [];
  private api: ChildProcess | null = null;
  private apiExited: Promise<void> = Promise.resolve();
  apiPort = 0;
  private stopping = false;
  db!: Client;
  queue!: Queue<ChunkJobData>;
  private database!: TestDatabase;

  private constructor(
    readonly redis: RedisInstance,
    readonly postgres: PostgresInstance,
    private readonly extraEnv: Record<string, string>,
  ) {}

  static async start(extraEnv: Record<string, string> = {}): Promise<ChaosStack> {
    const [redis, postgres] = await Promise.all([RedisInstance.start(), PostgresInstance.create()]);
    const stack = new ChaosStack(redis, postgres, extraEnv);
    stack.database = await createTestDatabase(postgres.adminUrl);
    stack.db = await stack.connect();
    await installWriteAudit(stack.db);
    stack.queue = chunkQueue('chaos', redis.url);
    stack.queue.on('error', () => undefined);
    return stack;
  }

  get databaseUrl(): string {
    return this.database.url;
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...FAST_RECOVERY,
      REDIS_URL: this.redis.url,
      DATABASE_URL: this.databaseUrl,
      ...this.extraEnv,
      ...extra,
    };
  }

  /** A fresh client of the stack's database (reconnect after a Postgres restart with this). */
  async connect(): Promise<Client> {
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** After the test's own Postgres restarted, its client is dead: a new one. */
  async reconnect(): Promise<void> {
    await this.db.end().catch(() => undefined);
    this.db = await this.connect();
  }

  /** A worker under a restart policy: when it dies (killed, crashed), a new one takes its place. */
  async startWorker(extra: Record<string, string> = {}): Promise<SupervisedWorker> {
    const metricsPort = await freePort();
    const supervised: SupervisedWorker = {
      current: this.spawnWorker(metricsPort, extra),
      metricsPort,
      restarts: 0,
    };
    const watch = (handle: WorkerHandle) => {
      void handle.exited.then(() => {
        if (this.stopping || supervised.current !== handle) return;
        supervised.restarts++;
        supervised.current = this.spawnWorker(metricsPort, extra);
        watch(supervised.current);
      });
    };
    watch(supervised.current);
    this.workers.push(supervised);
    return supervised;
  }

  /** Waits until `worker` answers ready (engine loaded, Redis and Postgres reachable). */
  async workerReady(worker: SupervisedWorker, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `worker on ${worker.metricsPort} ready`,
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${worker.metricsPort}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      timeoutMs,
      250,
    );
  }

  /** The built API (npm run build) as its own process. */
  async startApi(extra: Record<string, string> = {}): Promise<void> {
    if (!existsSync(API_MAIN))
      throw new Error(`${API_MAIN} missing: run \`npm run build\` first (npm run test:chaos does)`);
    this.apiPort ||= await freePort();
    const child = spawn(process.execPath, [API_MAIN], {
      env: {
        ...process.env,
        ...this.env({
          API_PORT: String(this.apiPort),
          ADMIN_API_KEY: CHAOS_ADMIN_KEY,
          NODE_ENV: 'production',
          ...extra,
        }),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.api = child;
    this.apiExited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(
      'api ready',
      async () => {
        try {
          return (await fetch(`${this.apiUrl}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      60_000,
      200,
    );
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** SIGTERM, as an orchestrator's restart does; resolves once the API exited. */
  async stopApi(): Promise<void> {
    this.api?.kill('SIGTERM');
    await this.apiExited;
    this.api = null;
  }

  seed(
    items: number,
    opts: {
      prompt?: (i: number) => string;
      params?: Parameters<typeof seedBatch>[2]['params'];
    } = {},
  ): Promise<string> {
    return seedBatch(this.db, this.queue, {
      items,
      chunkSize: Number(this.env().BATCH_CHUNK_SIZE),
      params: opts.params ?? CHAOS_PARAMS,
      prompt: opts.prompt,
    });
  }

  /** A counter summed over the live workers' /metrics (e.g. dllm_repair_actions_total{action="requeued"}). */
  async workerMetric(line: RegExp): Promise<number> {
    let sum = 0;
    for (const w of this.workers) {
      try {
        const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
        for (const l of text.split('\n')) if (line.test(l)) sum += Number(l.split(' ').pop());
      } catch {
        // a worker between restarts has no metrics to give
      }
    }
    return sum;
  }

  async completed(batchId: string): Promise<number> {
    const row = await this.db.query<{ n: number }>(
      `SELECT completed_count + failed_count + cancelled_count + expired_count AS n FROM batches WHERE id = $1`,
      [batchId],
    );
    return row.rows[0]?.n ?? 0;
  }

  async teardown(): Promise<void> {
    this.stopping = true;
    for (const w of this.workers) {
      if (w.current.child.exitCode === null && w.current.child.signalCode === null)
        w.current.child.kill('SIGKILL');
      await w.current.exited;
    }
    this.api?.kill('SIGKILL');
    await this.apiExited;
    await this.queue?.close().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    await this.redis.stop();
    await this.postgres.destroy();
  }

  private spawnWorker(metricsPort: number, extra: Record<string, string>): WorkerHandle {
    return startWorker(this.env({ WORKER_METRICS_PORT: String(metricsPort), ...extra }));
  }
}

/** Items short enough that a few thousand take a minute on 2 cores, long enough to be mid-batch when hit. */
export const CHAOS_PARAMS = {
  policy: 'fixed',
  gen_length: 8,
  tokens_per_step: 2,
  seed: 1,
} as const;

/**
 * Items per chaos batch: CHAOS_ITEMS (`npm run test:chaos` sets a few thousand), else a smaller
 * batch for the fast cases that also run in `npm test`.
 */
export const chaosItems = (): number => Number(process.env.CHAOS_ITEMS ?? 600);
