import { Client } from 'pg';
import { Redis } from 'ioredis';
import { median } from './timing';
import type { ApiClient } from './service-stack';

const round = (x: number, d = 1): number => Number(x.toFixed(d));

interface CompletionReply {
  choices: { text: string }[];
  diffusion: { compute_ms: number | null; queue_ms: number | null };
}

/**
 * Sync /v1/completions, one at a time: the client's wall time minus the engine's own time for
 * that request (diffusion.compute_ms, measured by the worker around the row's forwards), i.e.
 * what the API, Redis, the queue and Postgres add.
 */
export async function completionOverhead(api: ApiClient, prompts: string[], genLength: number) {
  const overheads: number[] = [];
  const walls: number[] = [];
  const queues: number[] = [];
  for (const prompt of prompts) {
    const t0 = performance.now();
    const res = await api.request<CompletionReply>('POST', '/v1/completions', {
      prompt,
      max_tokens: genLength,
      temperature: 0,
    });
    const wall = performance.now() - t0;
    if (res.status !== 200) throw new Error(`completion answered ${res.status}`);
    const compute = res.body.diffusion.compute_ms ?? 0;
    walls.push(wall);
    overheads.push(wall - compute);
    queues.push(res.body.diffusion.queue_ms ?? 0);
  }
  return {
    requests: prompts.length,
    wall_ms_median: round(median(walls)),
    overhead_over_engine_ms_median: round(median(overheads)),
    overhead_over_engine_ms_max: round(Math.max(...overheads)),
    queue_ms_median: round(median(queues)),
  };
}

/**
 * Redis and Postgres commands per second of this deployment while `streams` progress streams are
 * open on a batch that does not move: Redis counted with MONITOR (the commands naming the
 * deployment's key prefix: the queue, the event streams), Postgres by its database's committed
 * transactions (every query outside a transaction is one).
 */
export async function idleStreamCosts(
  api: ApiClient,
  redisUrl: string,
  prefix: string,
  databaseUrl: string,
  batchId: string,
  streams: number,
  seconds: number,
) {
  const open = Array.from({ length: streams }, () => new AbortController());
  const ended = open.map(async (stop) => {
    const res = await fetch(`${api.baseUrl}/v1/batches/${batchId}/events`, {
      headers: { authorization: `Bearer ${api.key}` },
      signal: stop.signal,
    });
    if (res.status !== 200) throw new Error(`progress stream answered ${res.status}`);
    try {
      for await (const _chunk of res.body ?? []) void _chunk; // keep reading: heartbeats
    } catch {
      // aborted
    }
  });
  await new Promise((r) => setTimeout(r, 2000)); // every stream open and settled
  const counted = await count(redisUrl, prefix, databaseUrl, seconds);
  for (const stop of open) stop.abort();
  await Promise.allSettled(ended);
  return { streams, seconds, ...counted };
}

async function count(redisUrl: string, prefix: string, databaseUrl: string, seconds: number) {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  const commits = async () =>
    Number(
      (
        await pg.query<{ n: string }>(
          'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
        )
      ).rows[0]!.n,
    );
  const monitor = await new Redis(redisUrl).monitor();
  let redis = 0;
  const byCommand: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (!args.some((a) => a.startsWith(`${prefix}:`))) return;
    redis++;
    const name = String(args[0]).toLowerCase();
    byCommand[name] = (byCommand[name] ?? 0) + 1;
  });
  await pg.query('SELECT pg_stat_clear_snapshot()');
  const before = await commits();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await pg.query('SELECT pg_stat_clear_snapshot()');
  const after = await commits();
  monitor.disconnect();
  await pg.end();
  return {
    redis_commands_per_second: round(redis / seconds, 2),
    redis_by_command: byCommand,
    // minus this counter's own two reads
    postgres_transactions_per_second: round(Math.max(0, after - before - 2) / seconds, 2),
  };
}
