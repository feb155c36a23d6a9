/**
 * npm run bench:overload -- [--minutes 3] [--load 2] [--deadline 30] [--json OUT.json]
 *
 * Does budget "auto" meet deadlines that the fixed budget misses when work arrives faster than the
 * worker can decode it? First measures capacity (items/s with the real bundled model at the default
 * fixed setting, the scheduler saturated), then offers arrivals at `--load` x capacity for `--minutes`,
 * each item due `--deadline` seconds after it arrives: once with every item `budget: "auto"` (the
 * budget controller running as in the worker), once with every item at the fixed budget. Per run:
 * deadline misses, tokens/s, exact-token accuracy against the file's real continuation (the
 * measure of tools/eval and bench:speed), forwards per item, and the thresholds rows ran at.
 *
 * What runs: the real Engine (worker thread, onnxruntime, the production scheduler) and the worker's
 * own BudgetLoop, in this process, without HTTP, Redis or Postgres: arrivals go straight to the
 * engine, so the backlog the controller sees is every item that has arrived and not ended (a worker
 * sees the chunks it holds). Queueing, result writes and HTTP cost are left out on purpose: they are
 * the same for both runs and would only blur the comparison on a small machine.
 */
import { Command } from 'commander';
import pino from 'pino';
import {
  type DllmTokenizer,
  Engine,
  parseGenerationParams,
  type GenerationResult,
} from '@dllm/engine';
import { BudgetLoop, NO_WAITING_WORK } from '@dllm/engine/budget';
import { summarize, tokenMatches, type ItemOutcome } from '../tools/eval/metrics';
import { listSourceFiles } from '../tools/eval/windows';
import {
  continuationWindows,
  loadBenchModel,
  machineInfo,
  tokenizedFiles,
  writeReport,
} from './lib/bench-setup';
import { withEngineBenchOptions, intOption as int, numberOption as num } from './lib/cli-options';
import { round } from './lib/matmul-peak';
import { progress } from './lib/timing';

const program = withEngineBenchOptions(new Command('bench:overload'))
  .description(
    'deadline misses, tokens/s and accuracy under 2x overload: budget "auto" vs the fixed budget',
  )
  .option('--minutes <n>', 'arrivals last this long, per run', num(0.01), 3)
  .option('--load <x>', 'arrival rate as a multiple of the measured capacity', num(0.1), 2)
  .option('--deadline <s>', 'each item is due this many seconds after it arrives', num(1), 30)
  .option('--gen-length <n>', 'tokens per item', int(1), 64)
  .option('--capacity-items <n>', 'items of the capacity measurement (all at once)', int(1), 64)
  .option('--interval <ms>', 'budget controller interval (BUDGET_INTERVAL_MS)', int(50), 1000);

interface Options {
  json?: string;
  model: string;
  minutes: number;
  load: number;
  deadline: number;
  genLength: number;
  promptTokens: number;
  capacityItems: number;
  maxBatchRows: number;
  threads: number;
  interval: number;
  seed: number;
}

interface Request {
  prompt: string;
  reference: number[];
}

async function main(): Promise<void> {
  const o = program.parse().opts<Options>();
  const t0 = performance.now();
  const { modelDir, bundle, tok } = loadBenchModel(o.model);
  const files = tokenizedFiles(listSourceFiles(undefined, modelDir), tok);
  const windows = continuationWindows(
    files,
    o.promptTokens,
    o.genLength,
    256,
    o.seed,
    bundle.maxLength,
  );
  const pool: Request[] = windows.map((w) => ({
    prompt: tok.decode(w.before),
    reference: tok.encode(tok.decode(w.span)),
  }));
  const engine = await Engine.start({
    modelDir,
    maxBatchRows: o.maxBatchRows,
    intraOpThreads: o.threads,
    onWarning: progress,
  });
  try {
    const paramsFor = (i: number) =>
      parseGenerationParams({
        gen_length: o.genLength,
        stop_at_eos: false,
        temperature: 0,
        seed: 1 + i,
      });
    // warm-up, then capacity at the default fixed setting with the scheduler saturated
    await Promise.all(
      pool
        .slice(0, o.maxBatchRows)
        .map((r, i) => engine.generate({ task: { prompt: r.prompt }, params: paramsFor(i) })),
    );
    const c0 = performance.now();
    await Promise.all(
      Array.from({ length: o.capacityItems }, (_, i) =>
        engine.generate({ task: { prompt: pool[i % pool.length]!.prompt }, params: paramsFor(i) }),
      ),
    );
    const capacity = o.capacityItems / ((performance.now() - c0) / 1000);
    progress(`capacity: ${capacity.toFixed(2)} items/s at the default fixed setting`);
    const runs = [];
    for (const budget of ['auto', 'fixed'] as const)
      runs.push(await overloadRun(engine, bundle.name, pool, tok, capacity, budget, o));
    const out = {
      benchmark: 'bench:overload',
      date: new Date().toISOString(),
      model: bundle.name,
      machine: machineInfo(),
      method:
        `in-process Engine (worker thread, production scheduler) + the worker's BudgetLoop, no HTTP/Redis/Postgres; capacity: ${o.capacityItems} items at once at the default fixed setting; ` +
        `arrivals evenly spaced at ${o.load}x capacity for ${o.minutes} min per run, each due ${o.deadline} s after arrival; continuation of ${o.promptTokens}-token prompts from the validation files, ` +
        `${o.genLength} tokens, greedy, end-of-text not a stop; accuracy: exact-token accuracy against the real continuation (tools/eval/metrics)`,
      options: o,
      capacity_items_per_s: round(capacity, 3),
      runs,
      runtime_s: round((performance.now() - t0) / 1000, 1),
    };
    writeReport(out, o.json);
  } finally {
    await engine.close();
  }
}

/** Arrivals at load x capacity, each due `deadline` s later; every item at `budget`. */
async function overloadRun(
  engine: Engine,
  model: string,
  pool: Request[],
  tok: DllmTokenizer,
  capacity: number,
  budget: 'auto' | 'fixed',
  o: Options,
) {
  engine.setAutoThreshold(null);
  const loop = new BudgetLoop({
    engine,
    waiting: () => Promise.resolve(NO_WAITING_WORK), // no queue here: every arrived item is held (see header)
    model,
    log: pino({ level: 'info' }, pino.destination(2)),
    intervalMs: o.interval,
    relaxMargin: 0.2,
    planMargin: 0.1,
    relaxHoldMs: 5 * o.interval,
  });
  loop.start();
  const rate = capacity * o.load;
  const count = Math.max(1, Math.round(rate * o.minutes * 60));
  const start = Date.now();
  const ended: Array<{ result: GenerationResult; late: number; reference: number[] }> = [];
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const arrival = start + (i * 1000) / rate;
    const wait = arrival - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const req = pool[i % pool.length]!;
    const deadline = arrival + o.deadline * 1000;
    const params = parseGenerationParams({
      gen_length: o.genLength,
      stop_at_eos: false,
      temperature: 0,
      seed: 1 + i,
      budget,
      deadline: new Date(deadline).toISOString(),
    });
    const key = `run:${i}`;
    loop.hold(key, params, arrival);
    void loop.nudge();
    running.push(
      engine.generate({ task: { prompt: req.prompt }, params }).then((result) => {
        const now = Date.now();
        loop.rowEnded(key, result, now);
        ended.push({ result, late: (now - deadline) / 1000, reference: req.reference });
      }),
    );
  }
  await Promise.all(running);
  loop.stop();
  const wallMs = Date.now() - start;
  const outcomes: ItemOutcome[] = ended.map(({ result, reference }) => {
    const ids = tok.encode(result.text);
    return {
      matches: tokenMatches(ids, reference),
      referenceTokens: reference.length,
      exact: ids.length === reference.length && ids.every((x, k) => x === reference[k]),
      forwards: result.steps,
      generatedTokens: result.tokens,
      parses: false,
      repeated4: 0,
      fourGrams: 0,
    };
  });
  const s = summarize(outcomes, wallMs);
  const misses = ended.filter((e) => e.late > 0);
  const thresholds: Record<string, number> = {};
  for (const e of ended)
    thresholds[String(e.result.applied_threshold)] =
      (thresholds[String(e.result.applied_threshold)] ?? 0) + 1;
  const lates = ended.map((e) => e.late).sort((a, b) => a - b);
  const run = {
    budget,
    items: ended.length,
    arrivals_per_s: round(rate, 3),
    deadline_misses: misses.length,
    deadline_miss_share: round(misses.length / Math.max(1, ended.length), 4),
    lateness_s: {
      p50: round(lates[Math.floor(lates.length / 2)] ?? 0, 2),
      max: round(lates.at(-1) ?? 0, 2),
    },
    tokens_per_s: round(s.tokens_per_s, 1),
    accuracy: round(s.accuracy, 2),
    exact_match: round(s.exact_match, 2),
    mean_forwards: round(s.mean_forwards, 2),
    wall_s: round(s.wall_s, 1),
    rows_by_threshold: thresholds,
  };
  progress(
    `${budget}: ${run.deadline_misses}/${run.items} missed, ${run.tokens_per_s} tok/s, accuracy ${run.accuracy}%`,
  );
  return run;
}

void main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
