// Time to accept a 100,000-item batch: `npm run bench:accept -- [--items N] [--runs R] [--json OUT]`.
// Builds the API, runs it as its own process (as in production) against a throwaway Postgres
// database and a fresh BullMQ prefix, POSTs the batch as JSON and as OpenAI JSONL, and prints
// JSON: client-side time to the 201 plus the server's own split (validate / insert / enqueue).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { ServiceStack } from './lib/service-stack';

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

async function main(): Promise<void> {
  if (options.build) execFileSync('npx', ['nest', 'build', 'api'], { cwd: ROOT, stdio: 'inherit' });
  const stack = new ServiceStack();
  try {
    await stack.createDatabase();
    // The server logs its own split of each accept; collect it by batch id.
    const split = new Map<string, Pick<Run, 'validate_ms' | 'insert_ms' | 'enqueue_ms'>>();
    const onLog = (line: string): void => {
      if (!line.includes('"batch accepted"')) return;
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
    };
    await stack.startApi(
      {
        MAX_BATCH_ITEMS: String(Math.max(100_000, options.items)),
        RECONCILE_INTERVAL_MS: '3600000',
        LOG_LEVEL: 'info',
      },
      onLog,
    );
    const base = stack.baseUrl;
    const key = await stack.issueKey('bench');

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
    await stack.teardown();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
