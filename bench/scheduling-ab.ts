/**
 * npm run bench:scheduling-ab -- [--json OUT.json] [--configs "hold=0;hold=3,min=4"] [--rounds 5]
 *
 * A/B of scheduler and runtime settings on a shared, noisy machine: one process, the same prompts
 * and params, the configurations run in turn round after round (the order rotated), so a busy
 * neighbour slows all of them alike and the per-round ratios to the first configuration mean
 * something. In-process Scheduler over OrtForward (as the engine thread runs them). Per config:
 * tokens/s (median, min, max), the median per-round ratio to config 1, the call mix, and whether
 * every output equals config 1's (scheduling must not change what a seed produces).
 *
 * A config is comma-separated key=value: hold (refreshHoldSteps), min (refreshMinRows),
 * pack (on|off: packStepCalls), ahead (packAheadRows), spin (on|off), threads (intra-op, 0 = default), and per config overrides of policy (as --policy),
 * cache, rows (scheduler maxRows: 1 = batch 1) and items (the first n prompts). Outputs are
 * compared with the first config of the same policy and cache.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  type GenerationParams,
  type GenerationParamsInput,
  type ModelBundle,
  OrtForward,
  parseGenerationParams,
  Scheduler,
  type SchedulerOptions,
} from '@dllm/engine';
import { loadBenchModel, machineInfo, writeReport } from './lib/bench-setup';
import { callMix } from './lib/call-mix';
import { intOption as int } from './lib/cli-options';
import { round } from './lib/matmul-peak';
import { validationPrompts } from './lib/prompts';
import { median, progress, settle } from './lib/timing';

const program = new Command('bench:scheduling-ab')
  .option('--json <file>', 'also write the JSON result here')
  .option('--model <dir>', 'model bundle', 'models/dllm-code-small')
  .option('--configs <list>', 'semicolon-separated configs', 'hold=0;hold=3,min=4')
  .option('--policy <p>', 'threshold:T | fixed:K | factor:F | entropy:G', 'threshold:0.5')
  .option('--cache <mode>', 'dual | prefix | none', 'dual')
  .option('--gen-length <n>', 'tokens per row', int(1), 192)
  .option('--block <n>', 'block length', int(1), 32)
  .option('--prompt-tokens <n>', 'prompt tokens', int(1), 64)
  .option('--items <n>', 'rows submitted at once', int(1), 12)
  .option('--max-rows <n>', 'scheduler maxRows', int(1), 16)
  .option('--max-tokens <n>', 'scheduler maxTokens', int(1), 4096)
  .option('--rounds <n>', 'rounds (each runs every config once)', int(1), 5);

interface Options {
  json?: string;
  model: string;
  configs: string;
  policy: string;
  cache: 'dual' | 'prefix' | 'none';
  genLength: number;
  block: number;
  promptTokens: number;
  items: number;
  maxRows: number;
  maxTokens: number;
  rounds: number;
}

interface Config {
  label: string;
  hold: number;
  min: number;
  pack: boolean;
  ahead: number;
  spin?: boolean;
  threads: number;
  policy?: string;
  cache?: 'dual' | 'prefix' | 'none';
  rows?: number;
  items?: number;
}

interface Run {
  c: Config;
  params: GenerationParams;
  prompts: string[];
  kind: string;
  forward: OrtForward;
  opts: SchedulerOptions;
  tokensPerS: number[];
  texts: string[];
  calls: Record<string, number>;
  rows: Record<string, number>;
  heldRows: number;
  satOutRows: number;
  stepCacheCopies: number;
  steps: number;
  rowForwards: number;
  /** while rows waited for a slot: steps, their rows, and the step calls and their rows */
  saturated: { steps: number; rows: number; stepCalls: number; stepRows: number };
}

function parseConfig(text: string): Config {
  const c: Config = { label: text, hold: 0, min: 1, pack: false, ahead: 0, threads: 0 };
  for (const kv of text.split(',').filter(Boolean)) {
    const [k, v] = kv.split('=') as [string, string];
    if (k === 'hold') c.hold = Number(v);
    else if (k === 'min') c.min = Number(v);
    else if (k === 'pack') c.pack = v === 'on';
    else if (k === 'ahead') c.ahead = Number(v);
    else if (k === 'spin') c.spin = v === 'on';
    else if (k === 'threads') c.threads = Number(v);
    else if (k === 'policy') c.policy = v;
    else if (k === 'cache') c.cache = v as Config['cache'];
    else if (k === 'rows') c.rows = Number(v);
    else if (k === 'items') c.items = Number(v);
    else throw new Error(`unknown config key ${k} in "${text}"`);
  }
  return c;
}

function policyParams(p: string): GenerationParamsInput {
  const [name, value] = p.split(':') as [string, string];
  const v = Number(value);
  if (name === 'threshold') return { policy: 'threshold', threshold: v };
  if (name === 'fixed') return { policy: 'fixed', tokens_per_step: v };
  if (name === 'factor') return { policy: 'factor', factor: v };
  if (name === 'entropy') return { policy: 'entropy', entropy_budget: v };
  throw new Error(`unknown policy ${p}`);
}

async function main(): Promise<void> {
  const o = program.parse().opts<Options>();
  const started = performance.now();
  const { modelDir, bundle } = loadBenchModel(o.model);
  const configs = o.configs.split(';').filter(Boolean).map(parseConfig);
  const prompts = validationPrompts(modelDir, bundle.tokenizer, o.items, o.promptTokens).prompts;
  const paramsOf = (c: Config) =>
    parseGenerationParams({
      ...policyParams(c.policy ?? o.policy),
      cache: c.cache ?? o.cache,
      gen_length: o.genLength,
      block_length: o.block,
      temperature: 0,
      seed: 1,
      stop_at_eos: false,
    });
  // one forward per distinct runtime setting; configs that differ only in scheduling share it
  const forwards = new Map<string, OrtForward>();
  const runs: Run[] = [];
  try {
    for (const c of configs) {
      const key = `${c.threads}:${c.spin}`;
      if (!forwards.has(key))
        forwards.set(
          key,
          await OrtForward.create(bundle, { intraOpThreads: c.threads, intraOpSpinning: c.spin }),
        );
      const opts: SchedulerOptions = {
        maxRows: c.rows ?? o.maxRows,
        maxTokens: o.maxTokens,
        refreshHoldSteps: c.hold,
        refreshMinRows: c.min,
        packStepCalls: c.pack,
        packAheadRows: c.ahead,
      };
      runs.push({
        c,
        params: paramsOf(c),
        prompts: prompts.slice(0, c.items ?? prompts.length),
        kind: `${c.policy ?? o.policy}/${c.cache ?? o.cache}`,
        forward: forwards.get(key)!,
        opts,
        tokensPerS: [],
        texts: [],
        calls: {},
        rows: {},
        heldRows: 0,
        satOutRows: 0,
        stepCacheCopies: 0,
        steps: 0,
        rowForwards: 0,
        saturated: { steps: 0, rows: 0, stepCalls: 0, stepRows: 0 },
      });
    }
    // warm each distinct runtime (sessions, arenas) once, untimed
    const warmed = new Set<OrtForward>();
    for (const r of runs) {
      if (warmed.has(r.forward)) continue;
      warmed.add(r.forward);
      await generateAll(bundle, r.forward, r.opts, prompts.slice(0, 4), r.params);
    }
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < runs.length; i++) {
        const r = runs[(i + round) % runs.length]!;
        await settle();
        const t0 = performance.now();
        const { results, scheduler } = await generateAll(
          bundle,
          r.forward,
          r.opts,
          r.prompts,
          r.params,
        );
        const ms = performance.now() - t0;
        const tokens = results.reduce((a, x) => a + x.tokens, 0);
        r.tokensPerS.push(tokens / (ms / 1000));
        if (round === 0) r.texts = results.map((x) => x.text);
        const s = scheduler.stats;
        for (const g of ['full', 'refresh', 'step'] as const) {
          r.calls[g] = (r.calls[g] ?? 0) + s.forwards[g];
          r.rows[g] = (r.rows[g] ?? 0) + s.rowsByGraph[g];
        }
        r.heldRows += s.heldRows;
        r.satOutRows += s.satOutRows;
        r.stepCacheCopies += scheduler.stepCacheCopies;
        r.saturated.steps += s.saturatedSteps;
        r.saturated.rows += s.saturatedRows;
        r.saturated.stepCalls += s.saturatedForwards.step;
        r.saturated.stepRows += s.saturatedRowsByGraph.step;
        r.steps += s.steps;
        r.rowForwards += s.rowsInForwards;
        if (i === runs.length - 1 && o.json)
          writeFileSync(
            o.json,
            `${JSON.stringify(report(o, runs, round + 1, started), null, 2)}\n`,
          );
        progress(
          `round ${round + 1}/${o.rounds} ${r.c.label}: ${r.tokensPerS.at(-1)!.toFixed(1)} tok/s`,
        );
      }
    }
  } finally {
    for (const f of forwards.values()) await f.release();
  }
  writeReport(report(o, runs, o.rounds, started), o.json);
}

/** The JSON so far: written after every round, so a run cut short still leaves its rounds. */
function report(o: Options, runs: Run[], roundsDone: number, started: number) {
  const base = runs[0]!;
  const out = {
    bench: 'scheduling-ab',
    date: new Date().toISOString(),
    machine: machineInfo(),
    options: o,
    roundsDone,
    configs: runs.map((r) => ({
      config: r.c.label,
      tokensPerS: {
        median: round(median(r.tokensPerS), 1),
        min: round(Math.min(...r.tokensPerS), 1),
        max: round(Math.max(...r.tokensPerS), 1),
      },
      /** median over rounds of this config's tokens/s over config 1's in the same round */
      ratioToFirst: round(median(r.tokensPerS.map((t, i) => t / base.tokensPerS[i]!)), 3),
      callMix: callMix(r.calls, r.rows, Math.max(1, roundsDone)),
      /** scheduler steps per round and rows in forwards per step */
      stepsPerRound: round(r.steps / Math.max(1, roundsDone), 1),
      rowsPerStep: round(r.rowForwards / r.steps, 2),
      heldRowStepsPerRound: round(r.heldRows / Math.max(1, roundsDone), 1),
      /** row-steps sat out because their call was at the row budget (pack=on) */
      satOutRowStepsPerRound: round(r.satOutRows / Math.max(1, roundsDone), 1),
      /** row caches copied into a step call's batch slot per round (a row new to its slot) */
      stepCacheCopiesPerRound: round(r.stepCacheCopies / Math.max(1, roundsDone), 1),
      /** while rows still waited for a slot: rows in forwards per step, and rows per step call (of max-rows) */
      saturatedRowsPerStep: r.saturated.steps
        ? round(r.saturated.rows / r.saturated.steps, 2)
        : null,
      saturatedStepCallRows: r.saturated.stepCalls
        ? round(r.saturated.stepRows / r.saturated.stepCalls, 2)
        : null,
      /** every output equals that of the first config with the same policy and cache */
      sameOutputsAsFirstOfKind: r.texts.every(
        (t, i) => t === runs.find((x) => x.kind === r.kind)!.texts[i],
      ),
    })),
    elapsedS: round((performance.now() - started) / 1000, 1),
  };
  return out;
}

async function generateAll(
  bundle: ModelBundle,
  forward: OrtForward,
  opts: SchedulerOptions,
  prompts: string[],
  params: GenerationParams,
) {
  const scheduler = new Scheduler(forward, bundle, opts);
  const results = await Promise.all(
    prompts.map((prompt, i) => scheduler.submit(`p${i}`, { task: { prompt }, params })),
  );
  return { results, scheduler };
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:scheduling-ab failed: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
