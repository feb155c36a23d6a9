// Time to accept a 100,000-item batch: `npm run bench:accept -- [--items N] [--runs R] [--json OUT]`.
// Builds the API, runs it as its own process (as in production) against a throwaway Postgres
// database and a fresh BullMQ prefix, POSTs the batch as JSON and as OpenAI JSONL, and prints
// JSON: client-side time to the 201 plus the server's own split (validate / insert / enqueue).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { migrate } from '../libs/shared/src/database/migrate';

const ROOT = join(__dirname, '..');
const TARGET_MS = 10_000;

interface Run {
  format: 'json' | 'jsonl';
  items: number;
  body_bytes: number;
  accept_ms: number;
  validate_ms?: number;
  insert_ms?: number;
  enqueue_ms?: number;
}

const options = new Command()
  .option('--items <n>', 'items per batch', (v) => Number(v), 100_000)
  .option('--runs <n>', 'submissions per format', (v) => Number(v), 3)
  .option('--format <f>', 'json, jsonl or both', 'both')
  .option('--json <file>', 'also write the result here')
  .option('--no-build', 'use the existing dist/ build')
  .parse()
  .opts<{ items: number; runs: number; format: string; json?: string; build: boolean }>();

const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Varied, realistic code prompts (40-90 bytes), so nothing is suspiciously compressible. */
function prompt(i: number): string {
  const verbs = ['sum', 'sort', 'filter', 'parse', 'merge', 'count', 'group', 'scale'];
  const nouns = ['values', 'records', 'rows', 'tokens', 'lines', 'items', 'pairs', 'events'];
  return `def ${verbs[i % 8]}_${nouns[(i >> 3) % 8]}_${i}(data):\n    """${verbs[(i >> 6) % 8]} the ${nouns[i % 8]}."""\n`;
}

function jsonBody(n: number): string {
  const items = Array.from({ length: n }, (_, i) => ({ custom_id: `req-${i}`, prompt: prompt(i) }));
  return JSON.stringify({ params: { gen_length: 32 }, metadata: { bench: 'accept-100k' }, items });
}

function jsonlBody(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out +=
      JSON.stringify({
        custom_id: `req-${i}`,
        method: 'POST',
        url: '/v1/completions',
        body: { model: 'dllm-code-small', prompt: prompt(i), max_tokens: 32, temperature: 0 },
      }) + '\n';
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function waitReady(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`api exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('api not ready within 60 s');
}

async function main(): Promise<void> {
  if (options.build) execFileSync('npx', ['nest', 'build', 'api'], { cwd: ROOT, stdio: 'inherit' });
  const database = `dllm_bench_${randomBytes(5).toString('hex')}`;
  const prefix = `bench_${randomBytes(5).toString('hex')}`;
  const adminKey = randomBytes(24).toString('hex');
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  await admin(`CREATE DATABASE ${database}`);
  let child: ChildProcess | undefined;
  const redis = new Redis(REDIS_URL);
  try {
    await migrate(url.toString());
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [join(ROOT, 'dist/apps/api/apps/api/src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        REDIS_URL,
        API_PORT: String(port),
        QUEUE_PREFIX: prefix,
        ADMIN_API_KEY: adminKey,
        MAX_BATCH_ITEMS: String(Math.max(100_000, options.items)),
        RECONCILE_INTERVAL_MS: '3600000',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The server logs its own split of each accept; collect it by batch id.
    const split = new Map<string, Pick<Run, 'validate_ms' | 'insert_ms' | 'enqueue_ms'>>();
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('"batch accepted"')) continue;
        const entry = JSON.parse(line) as {
          batch_id: string;
          validate_ms: number;
          insert_ms: number;
          enqueue_ms: number;
        };
        split.set(entry.batch_id, {
          validate_ms: entry.validate_ms,
          insert_ms: entry.insert_ms,
          enqueue_ms: entry.enqueue_ms,
        });
      }
    });
    await waitReady(base, child);
    const keyRes = await fetch(`${base}/v1/admin/api-keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: 'bench', name: 'accept-100k' }),
    });
    const { key } = (await keyRes.json()) as { key: string };

    const formats =
      options.format === 'both'
        ? (['json', 'jsonl'] as const)
        : [options.format as 'json' | 'jsonl'];
    const runs: Run[] = [];
    for (const format of formats) {
      const body = Buffer.from(
        format === 'json' ? jsonBody(options.items) : jsonlBody(options.items),
      );
      for (let r = 0; r < options.runs; r++) {
        const started = performance.now();
        const res = await fetch(`${base}/v1/batches`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${key}`,
            'Content-Type': format === 'json' ? 'application/json' : 'application/x-ndjson',
          },
          body,
        });
        const answer = (await res.json()) as { id?: string; error?: unknown };
        const acceptMs = performance.now() - started;
        if (res.status !== 201)
          throw new Error(`submission refused (${res.status}): ${JSON.stringify(answer.error)}`);
        await new Promise((r) => setTimeout(r, 100)); // let the server's log line arrive
        runs.push({
          format,
          items: options.items,
          body_bytes: body.length,
          accept_ms: Math.round(acceptMs),
          ...split.get(answer.id!),
        });
        process.stderr.write(`${format} run ${r + 1}: ${Math.round(acceptMs)} ms\n`);
      }
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const byFormat = Object.fromEntries(
      formats.map((f) => [f, median(runs.filter((r) => r.format === f).map((r) => r.accept_ms))]),
    );
    const worst = Math.max(...Object.values(byFormat));
    const result = {
      benchmark: 'accept-100k',
      items: options.items,
      median_accept_ms: byFormat,
      target_ms: TARGET_MS,
      meets_target: worst <= TARGET_MS,
      runs,
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    };
    const text = JSON.stringify(result, null, 2);
    console.log(text);
    if (options.json) writeFileSync(options.json, text + '\n');
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child!.once('exit', r));
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
