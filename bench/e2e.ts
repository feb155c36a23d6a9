/**
 * End-to-end benchmark, all in one run (same machine, same prompts):
 *  1. the prompts through the engine directly (in process, inference thread), and
 *  2. the same prompts through API -> Redis -> worker -> Postgres (built processes), submit to completed,
 *     alternating which side goes first over --rounds rounds (median ratio and its spread: one run on a
 *     shared machine swings, e.g. 0.79, 1.00, 0.82 on the same commit);
 *  3. time to accept a 100,000-item batch (POST until the response);
 *  4. status-read latency (GET /v1/batches/:id) under concurrent polling;
 *  5. sync /v1/completions: wall time over the engine's own time for the request (one at a time);
 *  6. Redis + Postgres commands per second with no and with 50 idle progress streams open.
 * 4-6 are measured once per round too and reported as median (min-max) of the rounds.
 *   npm run bench:e2e -- [--json OUT.json] [--items 96] [--gen-length 32] [--rounds 5]
 * `--only sync` runs 5 alone (engine warm-up, API + worker, --completions timed one at a time per round).
 * `--only status` runs 3 and 4 alone (no engine, no worker): the status-read figure without the rest.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Command } from 'commander';
import { isTerminalBatchStatus, type BatchView as Batch } from '@dllm/contract';
import {
  Engine,
  loadModelBundle,
  parseGenerationParams,
  type GenerationParamsInput,
} from '@dllm/engine';
import { completionOverhead, idleStreamCosts } from './lib/live-costs';
import { validationPrompts } from './lib/prompts';
import { ApiClient, ServiceStack } from './lib/service-stack';
import { progress } from './lib/timing';

const opts = new Command()
  .option('--json <file>', 'also write the result here')
  .option('--model <dir>', 'model bundle', 'models/dllm-code-small')
  .option('--items <n>', 'prompts in the throughput comparison', Number, 96)
  .option('--gen-length <n>', 'tokens generated per prompt', Number, 32)
  .option('--accept-items <n>', 'items in the acceptance test', Number, 100_000)
  .option('--pollers <n>', 'concurrent status readers', Number, 16)
  .option('--poll-seconds <n>', 'how long they read', Number, 10)
  .option('--rounds <n>', 'direct/pipeline rounds, alternating which goes first', Number, 5)
  .option('--completions <n>', 'sync completions timed one at a time', Number, 20)
  .option('--idle-streams <n>', 'progress streams held open on an idle batch', Number, 50)
  .option('--idle-seconds <n>', 'how long their Redis/Postgres commands are counted', Number, 15)
  .option(
    '--only <part>',
    'run one part alone: sync (the sync completion overhead) or status (accept the batch, then the poller rounds)',
  )
  .parse()
  .opts<{
    json?: string;
    model: string;
    items: number;
    genLength: number;
    acceptItems: number;
    pollers: number;
    pollSeconds: number;
    rounds: number;
    completions: number;
    idleStreams: number;
    idleSeconds: number;
    only?: string;
  }>();
if (opts.only !== undefined && opts.only !== 'sync' && opts.only !== 'status') {
  process.stderr.write(`--only: unknown part ${opts.only} (known: sync, status)\n`);
  process.exit(2);
}

const ENGINE = { maxBatchRows: 16, maxBatchTokens: 4096 };
const params: GenerationParamsInput = {
  policy: 'threshold',
  threshold: 0.9,
  gen_length: opts.genLength,
  seed: 1,
};

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number, d = 1): number => Number(x.toFixed(d));

interface Run {
  items: number;
  tokens: number;
  seconds: number;
  tokens_per_second: number;
}

async function direct(engine: Engine, prompts: string[]): Promise<Run> {
  progress(`direct: ${prompts.length} prompts through the engine`);
  const p = parseGenerationParams(params);
  const t0 = performance.now();
  const results = await Promise.all(
    prompts.map((prompt) => engine.generate({ task: { prompt }, params: p })),
  );
  const seconds = (performance.now() - t0) / 1000;
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  return {
    items: prompts.length,
    tokens,
    seconds: round(seconds, 2),
    tokens_per_second: round(tokens / seconds),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (xs: number[]) => ({
  median: round(median(xs), 3),
  min: round(Math.min(...xs), 3),
  max: round(Math.max(...xs), 3),
});

async function pipeline(api: ApiClient, prompts: string[]): Promise<Run> {
  progress(
    `pipeline: the same ${prompts.length} prompts through API -> Redis -> worker -> Postgres`,
  );
  const items = prompts.map((prompt, i) => ({ custom_id: `p${i}`, prompt }));
  const t0 = performance.now();
  const res = await api.request<Batch>('POST', '/v1/batches', { params, items });
  if (res.status !== 201)
    throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
  let batch = res.body;
  while (!isTerminalBatchStatus(batch.status)) {
    await new Promise((r) => setTimeout(r, 100));
    batch = (await api.request<Batch>('GET', `/v1/batches/${batch.id}`)).body;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (batch.status !== 'completed') throw new Error(`pipeline batch ended ${batch.status}`);
  return {
    items: prompts.length,
    tokens: batch.timing.tokens,
    seconds: round(seconds, 2),
    tokens_per_second: round(batch.timing.tokens / seconds),
  };
}

async function accept(api: ApiClient, n: number) {
  progress(`accept: one batch of ${n} items`);
  const items = Array.from({ length: n }, (_, i) => ({
    custom_id: `a${i}`,
    prompt: `def f${i}(x):`,
  }));
  const body = JSON.stringify({ params: { gen_length: 16 }, items });
  const t0 = performance.now();
  const res = await api.request<Batch>('POST', '/v1/batches', body);
  const ms = performance.now() - t0;
  if (res.status !== 201)
    throw new Error(`accept answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  return {
    id: res.body.id,
    result: {
      items: n,
      body_mb: round(body.length / 1e6, 1),
      ms: Math.round(ms),
      items_per_second: Math.round((n * 1000) / ms),
    },
  };
}

async function statusReads(api: ApiClient, id: string) {
  progress(`status reads: ${opts.pollers} concurrent pollers for ${opts.pollSeconds}s`);
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + opts.pollSeconds * 1000;
  await Promise.all(
    Array.from({ length: opts.pollers }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const r = await api.request('GET', `/v1/batches/${id}`);
        latencies.push(performance.now() - t0);
        if (r.status !== 200) errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    pollers: opts.pollers,
    requests: latencies.length,
    errors,
    requests_per_second: round(latencies.length / opts.pollSeconds),
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
  };
}

const readsSummary = (readRounds: Awaited<ReturnType<typeof statusReads>>[]) => ({
  pollers: opts.pollers,
  p50_ms: spread(readRounds.map((x) => x.p50_ms)),
  p99_ms: spread(readRounds.map((x) => x.p99_ms)),
  requests_per_second: spread(readRounds.map((x) => x.requests_per_second)),
  rounds: readRounds,
});

function emit(result: object): void {
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(text + '\n');
  if (opts.json) writeFileSync(opts.json, text + '\n');
}

/** `--only status`: the accepted 100k batch (no worker, so it stays queued) polled by the readers. */
async function statusOnly(): Promise<void> {
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const stack = new ServiceStack();
  try {
    await stack.createDatabase();
    await stack.startApi({ MAX_SSE_STREAMS: '0' });
    const api = new ApiClient(stack.baseUrl, await stack.issueKey('bench'));
    const acceptance = await accept(api, opts.acceptItems);
    const readRounds = [];
    for (let r = 0; r < opts.rounds; r++) {
      readRounds.push(await statusReads(api, acceptance.id));
      progress(
        `round ${r + 1}/${opts.rounds}: p50 ${readRounds.at(-1)!.p50_ms} ms, p99 ${readRounds.at(-1)!.p99_ms} ms, load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
    const reads = readsSummary(readRounds);
    emit({
      benchmark: 'e2e --only status',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        loadavg_at_start: loadAtStart,
        loadavg_at_end: loadavg().map((x) => round(x, 2)),
      },
      config: {
        accept_items: opts.acceptItems,
        poll_seconds: opts.pollSeconds,
        rounds: opts.rounds,
      },
      accept: acceptance.result,
      status_read: reads,
      targets: { status_read_p99_at_most_20ms: reads.p99_ms.median <= 20 },
    });
  } finally {
    await stack.teardown();
  }
}

async function main(): Promise<void> {
  if (opts.only === 'status') return statusOnly();
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const bundle = loadModelBundle(opts.model);
  const { prompts } = validationPrompts(opts.model, bundle.tokenizer, opts.items, 64);
  const stack = new ServiceStack();
  const engine = await Engine.start({ modelDir: opts.model, ...ENGINE });
  try {
    await engine.generate({ task: { prompt: prompts[0]! }, params: parseGenerationParams(params) }); // warm-up
    await stack.createDatabase();
    await stack.startApi({ MAX_SSE_STREAMS: '0' });
    const api = new ApiClient(stack.baseUrl, await stack.issueKey('bench'));
    const worker = await stack.startWorker(19600 + Math.floor(Math.random() * 300), {
      ENGINE_MAX_BATCH_ROWS: String(ENGINE.maxBatchRows),
      ENGINE_MAX_BATCH_TOKENS: String(ENGINE.maxBatchTokens),
    });
    const rounds: Array<{ first: string; direct: Run; pipeline: Run; ratio: number }> = [];
    const completionRounds: Awaited<ReturnType<typeof completionOverhead>>[] = [];
    if (opts.only === 'sync') {
      for (let r = 0; r < opts.rounds; r++) {
        progress(
          `round ${r + 1}/${opts.rounds}: sync completions: ${opts.completions}, one at a time`,
        );
        completionRounds.push(
          await completionOverhead(api, prompts.slice(0, opts.completions), opts.genLength),
        );
      }
      await stack.stop(worker);
      const overhead = spread(completionRounds.map((x) => x.overhead_over_engine_ms_median));
      const result = {
        benchmark: 'e2e --only sync',
        date: new Date().toISOString(),
        machine: {
          cpus: cpus().length,
          loadavg_at_start: loadAtStart,
          loadavg_at_end: loadavg().map((x) => round(x, 2)),
        },
        config: {
          model: bundle.name,
          gen_length: opts.genLength,
          engine: ENGINE,
          completions: opts.completions,
          rounds: opts.rounds,
        },
        sync_completion: {
          overhead_over_engine_ms_median: overhead,
          wall_ms_median: spread(completionRounds.map((x) => x.wall_ms_median)),
          rounds: completionRounds,
        },
        targets: { sync_completion_overhead_median_at_most_15ms: overhead.median <= 15 },
      };
      const text = JSON.stringify(result, null, 2);
      process.stdout.write(text + '\n');
      if (opts.json) writeFileSync(opts.json, text + '\n');
      return;
    }
    for (let r = 0; r < opts.rounds; r++) {
      // alternate which side runs first, so neither always meets a machine just warmed (or loaded) by the other
      const directFirst = r % 2 === 0;
      const a = directFirst ? await direct(engine, prompts) : await pipeline(api, prompts);
      const b = directFirst ? await pipeline(api, prompts) : await direct(engine, prompts);
      const [d, p] = directFirst ? [a, b] : [b, a];
      rounds.push({
        first: directFirst ? 'direct' : 'pipeline',
        direct: d,
        pipeline: p,
        ratio: round(p.tokens_per_second / d.tokens_per_second, 3),
      });
      progress(
        `round ${r + 1}/${opts.rounds}: direct ${d.tokens_per_second} tok/s, pipeline ${p.tokens_per_second} tok/s, ratio ${rounds.at(-1)!.ratio}`,
      );
      progress(`sync completions: ${opts.completions}, one at a time`);
      completionRounds.push(
        await completionOverhead(api, prompts.slice(0, opts.completions), opts.genLength),
      );
    }
    await stack.stop(worker); // the acceptance test must not race a worker for the CPU
    await engine.close();
    const acceptance = await accept(api, opts.acceptItems);
    const readRounds = [];
    for (let r = 0; r < opts.rounds; r++) readRounds.push(await statusReads(api, acceptance.id));
    // no worker now: the accepted batch does not move, its streams only wait
    const idleRounds: Record<number, Awaited<ReturnType<typeof idleStreamCosts>>[]> = {};
    for (let r = 0; r < opts.rounds; r++) {
      for (const streams of r % 2 === 0 ? [0, opts.idleStreams] : [opts.idleStreams, 0]) {
        progress(`idle streams: ${streams} open for ${opts.idleSeconds}s, counting commands`);
        (idleRounds[streams] ??= []).push(
          await idleStreamCosts(
            api,
            stack.redisUrl,
            stack.prefix,
            stack.databaseUrl,
            acceptance.id,
            streams,
            opts.idleSeconds,
          ),
        );
      }
    }
    const reads = readsSummary(readRounds);
    const completions = {
      overhead_over_engine_ms_median: spread(
        completionRounds.map((x) => x.overhead_over_engine_ms_median),
      ),
      wall_ms_median: spread(completionRounds.map((x) => x.wall_ms_median)),
      rounds: completionRounds,
    };
    const idle = Object.entries(idleRounds).map(([streams, runs]) => ({
      streams: Number(streams),
      redis_commands_per_second: spread(runs.map((m) => m.redis_commands_per_second)),
      postgres_transactions_per_second: spread(runs.map((m) => m.postgres_transactions_per_second)),
      runs,
    }));
    const ratio = spread(rounds.map((r) => r.ratio));
    const result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        loadavg_at_start: loadAtStart,
        loadavg_at_end: loadavg().map((x) => round(x, 2)),
      },
      config: {
        model: bundle.name,
        params,
        engine: ENGINE,
        items: opts.items,
        prompt_tokens: 64,
        rounds: opts.rounds,
      },
      direct_engine_tokens_per_second: spread(rounds.map((r) => r.direct.tokens_per_second)),
      api_redis_worker_postgres_tokens_per_second: spread(
        rounds.map((r) => r.pipeline.tokens_per_second),
      ),
      e2e_over_direct: ratio,
      rounds,
      accept: acceptance.result,
      status_read: reads,
      sync_completion: completions,
      idle_streams: idle,
      targets: {
        status_read_p99_at_most_20ms: reads.p99_ms.median <= 20,
        sync_completion_overhead_median_at_most_15ms:
          completions.overhead_over_engine_ms_median.median <= 15,
        e2e_over_direct_median_at_least_0_9: ratio.median >= 0.9,
        accept_100k_within_10s: opts.acceptItems >= 100_000 && acceptance.result.ms <= 10_000,
      },
    };
    emit(result);
  } finally {
    await engine.close();
    await stack.teardown();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:e2e failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
