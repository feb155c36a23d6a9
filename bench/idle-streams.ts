/**
 * What open progress streams cost when nothing happens: Redis commands (MONITOR, the deployment's
 * key prefix) and Postgres transactions (pg_stat_database.xact_commit of its database) per second,
 * with 0 and with `--streams` progress streams open on a batch no worker runs, `--rounds` times.
 * The built API only (no worker, no engine), so it also runs in an older checkout of this repo with
 * these three files copied in: that is how the README's before/after figures were taken.
 *   npm run build && npm run bench:idle-streams -- [--streams 50] [--seconds 15] [--rounds 3] [--json OUT]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execSync } from 'node:child_process';
import { Command } from 'commander';
import { idleStreamCosts } from './lib/live-costs';
import { ApiClient, ServiceStack } from './lib/service-stack';

const opts = new Command('bench:idle-streams')
  .option('--json <file>', 'also write the result here')
  .option('--streams <n>', 'progress streams held open', Number, 50)
  .option('--seconds <n>', 'how long commands are counted, per measurement', Number, 15)
  .option('--rounds <n>', 'measurements of each stream count, alternated', Number, 3)
  .option('--items <n>', 'items of the idle batch', Number, 1000)
  .parse()
  .opts<{ json?: string; streams: number; seconds: number; rounds: number; items: number }>();

const round = (x: number, d = 2): number => Number(x.toFixed(d));
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median), min: round(s[0]!), max: round(s.at(-1)!) };
};

async function main(): Promise<void> {
  const stack = new ServiceStack();
  try {
    await stack.createDatabase();
    await stack.startApi({ MAX_SSE_STREAMS: '0' });
    const api = new ApiClient(stack.baseUrl, await stack.issueKey('bench'));
    const items = Array.from({ length: opts.items }, (_, i) => ({
      custom_id: `i${i}`,
      prompt: `def f${i}(x):`,
    }));
    const res = await api.request<{ id: string }>('POST', '/v1/batches', {
      params: { gen_length: 16 },
      items,
    });
    if (res.status !== 201) throw new Error(`submit answered ${res.status}`);
    const measured: Record<number, Awaited<ReturnType<typeof idleStreamCosts>>[]> = {};
    for (let r = 0; r < opts.rounds; r++) {
      // alternate the order, so neither count always follows the other
      const counts = r % 2 === 0 ? [0, opts.streams] : [opts.streams, 0];
      for (const streams of counts) {
        process.stderr.write(`[bench] round ${r + 1}/${opts.rounds}: ${streams} streams\n`);
        (measured[streams] ??= []).push(
          await idleStreamCosts(
            api,
            stack.redisUrl,
            stack.prefix,
            stack.databaseUrl,
            res.body.id,
            streams,
            opts.seconds,
          ),
        );
      }
    }
    const summary = Object.entries(measured).map(([streams, runs]) => ({
      streams: Number(streams),
      redis_commands_per_second: spread(runs.map((m) => m.redis_commands_per_second)),
      postgres_transactions_per_second: spread(runs.map((m) => m.postgres_transactions_per_second)),
      runs,
    }));
    const result = {
      benchmark: 'idle-streams',
      date: new Date().toISOString(),
      commit: execSync('git rev-parse HEAD').toString().trim(),
      machine: { cpus: cpus().length, loadavg_at_end: loadavg().map((x) => round(x)) },
      options: opts,
      method:
        'built API alone (no worker); one batch accepted and never run; per measurement: open the streams, wait until each has had its first event and 11 s more (Postgres 15 reports transactions up to 10 s late), count for --seconds: Redis commands naming the deployment prefix (MONITOR), Postgres committed transactions of its database (minus the counter`s own two reads)',
      summary,
    };
    const text = JSON.stringify(result, null, 2) + '\n';
    process.stdout.write(text);
    if (opts.json) writeFileSync(opts.json, text);
  } finally {
    await stack.teardown();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:idle-streams failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
