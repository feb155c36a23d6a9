import { Client } from 'pg';
import { Redis } from 'ioredis';
import { median } from './timing';
import type { ApiClient } from './service-stack';

const round = (x: number, d = 1): number => Number(x.toFixed(d));
const PG_STATS_LAG_MS = 11_000;

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
  const firstEvents: Promise<void>[] = [];
  const ended = open.map((stop) => {
    let heard!: () => void;
    firstEvents.push(new Promise<void>((r) => (heard = r)));
    return (async () => {
      const res = await fetch(`${api.baseUrl}/v1/batches/${batchId}/events`, {
        headers: { authorization: `Bearer ${api.key}` },
        signal: stop.signal,
      });
      if (res.status !== 200) throw new Error(`progress stream answered ${res.status}`);
      try {
        // keep reading (heartbeats); the first chunk is the stream's first event
        for await (const chunk of res.body ?? []) if (chunk) heard();
      } catch {
        // aborted
      }
    })();
  });
  // Count only once every stream has had its first event (opening one costs an auth lookup and a
  // batch read; on a loaded machine 50 take longer than any fixed wait), and then PG_STATS_LAG_MS
  // more: Postgres 15 backends report their transactions up to 10 s late (PGSTAT_IDLE_INTERVAL),
  // so without it the openings land in the count (measured: +5 to +6 transactions/s for 50).
  await Promise.race([
    Promise.all(firstEvents),
    Promise.all(ended).then(() => {
      throw new Error('a progress stream ended before its first event');
    }),
  ]);
  await new Promise((r) => setTimeout(r, PG_STATS_LAG_MS));
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
  const client = new Redis(redisUrl);
  const monitor = await client.monitor(); // a connection of its own: both must close
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
  client.disconnect();
  await pg.end();
  return {
    redis_commands_per_second: round(redis / seconds, 2),
    redis_by_command: byCommand,
    // minus this counter's own two reads
    postgres_transactions_per_second: round(Math.max(0, after - before - 2) / seconds, 2),
  };
}
