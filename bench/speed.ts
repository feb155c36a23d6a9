/**
 * npm run bench:speed -- [--json OUT.json] [--model DIR] [--lengths 64,128,max]
 *
 * The speed claim, in one run on one model: vanilla diffusion decoding (fixed, one token per step,
 * the whole sequence recomputed every step) against every policy with and without the block cache,
 * at several generation lengths, at batch 1 and with the scheduler saturated. Per setting: tokens/s
 * (median of --rounds, with min and max; settings in a rotated order each round), forwards per token,
 * exact-token accuracy against the file's real continuation, parse rate and repeated-4-gram share.
 * Headline per (length, batch): the fastest setting within 1 point of vanilla's accuracy.
 * Rerun on another bundle (e.g. a newly trained model) with --model.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  type DllmTokenizer,
  Engine,
  type EngineStats,
  type GenerationParamsInput,
  type GenerationResult,
  modelParamsProblem,
  parseGenerationParams,
} from '@dllm/engine';
import { fileWithSpan, repeatedNgrams } from '../tools/eval/code-quality';
import { type ItemOutcome, pairedDeltaCi, summarize, tokenMatches } from '../tools/eval/metrics';
import { PythonParser } from '../tools/eval/python-parser';
import { seededRandom } from '../tools/eval/random';
import { listSourceFiles, type Window } from '../tools/eval/windows';
import {
  continuationWindows,
  loadBenchModel,
  machineInfo,
  tokenizedFiles,
  writeReport,
} from './lib/bench-setup';
import {
  engineTuning,
  type EngineTuning,
  withEngineBenchOptions,
  withEngineTuningOptions,
  intOption as int,
} from './lib/cli-options';
import { callMix, GRAPHS, type Graph } from './lib/call-mix';
import { round } from './lib/matmul-peak';
import { median, progress } from './lib/timing';

interface Setting {
  label: string;
  params: GenerationParamsInput;
}

/** Every setting decodes in blocks of 32, so "cache alone" differs from vanilla by the cache only. */
const BLOCK = 32;
const VANILLA: Setting = {
  label: 'vanilla: fixed k=1, no cache',
  params: { policy: 'fixed', tokens_per_step: 1, cache: 'none' },
};
export const SETTINGS: Setting[] = [
  VANILLA,
  {
    label: 'fixed k=1, dual cache',
    params: { policy: 'fixed', tokens_per_step: 1, cache: 'dual' },
  },
  {
    label: 'fixed k=1, prefix cache',
    params: { policy: 'fixed', tokens_per_step: 1, cache: 'prefix' },
  },
  ...[0.9, 0.7].flatMap((t): Setting[] => [
    {
      label: `threshold ${t}, no cache`,
      params: { policy: 'threshold', threshold: t, cache: 'none' },
    },
    {
      label: `threshold ${t}, dual cache`,
      params: { policy: 'threshold', threshold: t, cache: 'dual' },
    },
  ]),
  {
    label: 'threshold 0.5, dual cache',
    params: { policy: 'threshold', threshold: 0.5, cache: 'dual' },
  },
  { label: 'factor 1, no cache', params: { policy: 'factor', factor: 1, cache: 'none' } },
  { label: 'factor 1, dual cache', params: { policy: 'factor', factor: 1, cache: 'dual' } },
  { label: 'entropy 1, no cache', params: { policy: 'entropy', entropy_budget: 1, cache: 'none' } },
  {
    label: 'entropy 1, dual cache',
    params: { policy: 'entropy', entropy_budget: 1, cache: 'dual' },
  },
];
const MAX_ACCURACY_DROP = 1;

const program = withEngineTuningOptions(withEngineBenchOptions(new Command('bench:speed')))
  .description(
    'vanilla vs cached and adaptive decoding: tokens/s, forwards per token, accuracy, parse rate',
  )
  .option(
    '--lengths <list>',
    'generation lengths; "max" = the bundle max length minus the prompt',
    '64,128,max',
  )
  .option('--items <n>', 'prompts per length (all at once: the saturated batch)', int(1), 16)
  .option('--batch1-items <n>', 'the first n of them, one at a time (batch 1)', int(1), 4)
  .option('--rounds <n>', 'timed rounds per setting (accuracy from the first)', int(1), 3)
  .option(
    '--data <path>',
    "prompt source files: a .py file or a folder of them (default: the bundle's validation_files.json, " +
      "or the bundled model's for an imported bundle, which has none)",
  )
  .option(
    '--settings <labels>',
    'only settings whose label contains one of these (comma-separated); vanilla always runs',
  );

interface Options extends EngineTuning {
  json?: string;
  model: string;
  lengths: string;
  promptTokens: number;
  items: number;
  batch1Items: number;
  rounds: number;
  maxBatchRows: number;
  threads: number;
  settings?: string;
  data?: string;
  seed: number;
}

/** Where prompts come from: --data, else the bundle's split, else the bundled model's split. */
function sourceFiles(o: Options, modelDir: string): string[] {
  if (o.data || existsSync(`${modelDir}/validation_files.json`))
    return listSourceFiles(o.data, modelDir);
  return listSourceFiles(undefined, resolve('models/dllm-code-small'));
}

/** What one item produced, for accuracy and code quality. */
interface Produced {
  result: GenerationResult;
  outcome: ItemOutcome;
}

interface Timed {
  tokensPerS: number[];
  /** engine counters over the timed runs */
  forwards: Record<Graph, number>;
  /** rows carried by those calls, per graph */
  rows: Record<Graph, number>;
  rowForwards: number;
  tokens: number;
}

async function main(): Promise<void> {
  const o = program.parse().opts<Options>();
  const t0 = performance.now();
  const { modelDir, bundle, tok } = loadBenchModel(o.model);
  const lengths = o.lengths
    .split(',')
    .map((l) => (l === 'max' ? bundle.maxLength - o.promptTokens : int(1)(l)));
  const filters = o.settings?.split(',').filter(Boolean);
  // a block-causal model decodes in its own blocks; an imported AR or block-causal bundle refuses a
  // dual cache (request/model-rules.ts): such settings are skipped and listed in the report
  const block = bundle.attention.type === 'block-causal' ? bundle.attention.blockSize! : BLOCK;
  const skipped: { setting: string; reason: string }[] = [];
  const settings = SETTINGS.filter((s) => {
    if (s !== VANILLA && filters && !filters.some((f) => s.label.includes(f))) return false;
    const problem = modelParamsProblem(
      bundle,
      parseGenerationParams({ ...s.params, gen_length: 64, block_length: block }),
      false,
    );
    if (problem) skipped.push({ setting: s.label, reason: problem });
    return !problem;
  });
  if (!settings.includes(VANILLA)) throw new Error(`${modelDir}: refuses the vanilla setting`);
  const files = tokenizedFiles(sourceFiles(o, modelDir), tok);
  const parser = PythonParser.start();
  const engine = await Engine.start({
    modelDir,
    maxBatchRows: o.maxBatchRows,
    intraOpThreads: o.threads,
    ...engineTuning(o),
    onWarning: progress,
  });
  const report: unknown[] = [];
  try {
    // warm the sessions and their arenas on every graph before timing anything
    await Promise.all(
      Array.from({ length: o.maxBatchRows }, (_, i) =>
        engine.generate({
          task: { prompt: `def f${i}(x):\n` },
          params: parseGenerationParams({
            gen_length: 64,
            block_length: block,
            stop_at_eos: false,
          }),
        }),
      ),
    );
    for (const length of lengths) {
      const windows = continuationWindows(
        files,
        o.promptTokens,
        length,
        o.items,
        o.seed,
        bundle.maxLength,
      );
      const requests = windows.map((w) => ({
        task: { prompt: tok.decode(w.before) },
        reference: tok.encode(tok.decode(w.span)),
        around: {
          before: tok.decode(files.find((f) => f.path === w.file)!.ids.slice(0, w.start)),
          after: tok.decode(
            files.find((f) => f.path === w.file)!.ids.slice(w.start + w.span.length),
          ),
        },
        window: w,
      }));
      const paramsOf = (s: Setting) =>
        parseGenerationParams({
          ...s.params,
          gen_length: length,
          block_length: Math.min(block, length),
          temperature: 0,
          seed: 1,
          stop_at_eos: false,
        });
      const saturated = new Map<Setting, Timed>();
      const single = new Map<Setting, Timed>();
      const produced = new Map<Setting, Produced[]>();
      for (let round = 0; round < o.rounds; round++) {
        // rotate the order so no setting always runs first (or right after the slowest)
        const order = settings.map((_, i) => settings[(i + round) % settings.length]!);
        for (const s of order) {
          const params = paramsOf(s);
          // saturated: every item at once
          let before = await engine.stats();
          let start = performance.now();
          const results = await Promise.all(
            requests.map((r) => engine.generate({ task: r.task, params })),
          );
          record(saturated, s, results, performance.now() - start, before, await engine.stats());
          if (round === 0)
            produced.set(
              s,
              await Promise.all(results.map((r, i) => outcome(r, requests[i]!, tok, parser))),
            );
          // batch 1: one item at a time
          before = await engine.stats();
          start = performance.now();
          const one: GenerationResult[] = [];
          for (const r of requests.slice(0, o.batch1Items))
            one.push(await engine.generate({ task: r.task, params }));
          record(single, s, one, performance.now() - start, before, await engine.stats());
          progress(
            `L=${length} round ${round + 1}/${o.rounds} ${s.label}: saturated ${last(saturated, s)} tok/s, batch 1 ${last(single, s)} tok/s`,
          );
        }
      }
      report.push(summarizeLength(length, settings, saturated, single, produced, o));
    }
  } finally {
    parser.close();
    await engine.close();
  }
  const out = {
    benchmark: 'bench:speed',
    date: new Date().toISOString(),
    model: bundle.name,
    model_dir: o.model,
    machine: machineInfo(),
    method:
      `continuation of ${o.promptTokens}-token prompts cut from the validation files (${o.items} per length; batch 1 = the first ${o.batch1Items}, one at a time), ` +
      `greedy, blocks of ${block}, end-of-text not a stop; tokens/s: median of ${o.rounds} rounds (min, max), settings rotated per round; ` +
      `accuracy: exact-token accuracy against the file's real continuation (first round, saturated run); headline: the fastest setting within ${MAX_ACCURACY_DROP} point of vanilla's accuracy`,
    options: o,
    skipped_settings: skipped,
    lengths: report,
    runtime_s: round((performance.now() - t0) / 1000, 1),
  };
  writeReport(out, o.json);
}

function record(
  into: Map<Setting, Timed>,
  s: Setting,
  results: GenerationResult[],
  ms: number,
  before: EngineStats,
  after: EngineStats,
): void {
  const zero = (): Record<Graph, number> => ({
    full: 0,
    refresh: 0,
    step: 0,
    prefill: 0,
    extend: 0,
  });
  const t = into.get(s) ?? {
    tokensPerS: [],
    forwards: zero(),
    rows: zero(),
    rowForwards: 0,
    tokens: 0,
  };
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  t.tokensPerS.push(tokens / (ms / 1000));
  t.tokens += tokens;
  t.rowForwards += results.reduce((a, r) => a + r.steps, 0);
  for (const g of GRAPHS) {
    t.forwards[g] += after.forwards[g] - before.forwards[g];
    t.rows[g] += after.rowsByGraph[g] - before.rowsByGraph[g];
  }
  into.set(s, t);
}

const last = (m: Map<Setting, Timed>, s: Setting): string =>
  m.get(s)!.tokensPerS.at(-1)!.toFixed(1);

async function outcome(
  r: GenerationResult,
  req: { reference: number[]; around: { before: string; after: string }; window: Window },
  tok: DllmTokenizer,
  parser: PythonParser,
): Promise<Produced> {
  const ids = tok.encode(r.text);
  const rep = repeatedNgrams(ids);
  return {
    result: r,
    outcome: {
      matches: tokenMatches(ids, req.reference),
      referenceTokens: req.reference.length,
      exact: ids.length === req.reference.length && ids.every((x, i) => x === req.reference[i]),
      forwards: r.steps,
      generatedTokens: r.tokens,
      parses: await parser.parses(fileWithSpan(req.around, r.text)),
      repeated4: rep.repeated,
      fourGrams: rep.total,
    },
  };
}

function spread(xs: number[]) {
  return {
    median: round(median(xs), 1),
    min: round(Math.min(...xs), 1),
    max: round(Math.max(...xs), 1),
  };
}

function summarizeLength(
  length: number,
  settings: Setting[],
  saturated: Map<Setting, Timed>,
  single: Map<Setting, Timed>,
  produced: Map<Setting, Produced[]>,
  o: Options,
) {
  const vanillaOutcomes = produced.get(VANILLA)!.map((p) => p.outcome);
  const vanillaQuality = summarize(vanillaOutcomes, 1);
  const rows = settings.map((s) => {
    const q = summarize(
      produced.get(s)!.map((p) => p.outcome),
      1,
    );
    const sat = saturated.get(s)!;
    const one = single.get(s)!;
    return {
      setting: s.label,
      params: s.params,
      accuracy: round(q.accuracy, 2),
      accuracy_delta: round(q.accuracy - vanillaQuality.accuracy, 2),
      accuracy_delta_ci95: pairedDeltaCi(
        vanillaOutcomes,
        produced.get(s)!.map((p) => p.outcome),
        seededRandom(1),
      ).map((x) => round(x, 2)),
      parse_rate: round(q.parse_rate, 1),
      repeated_4gram_share: round(q.repeated_4gram_share, 1),
      forwards_per_token: round(sat.rowForwards / sat.tokens, 3),
      tokens_per_forward: round(sat.tokens / sat.rowForwards, 2),
      graph_calls_per_round: Object.fromEntries(
        Object.entries(sat.forwards).map(([g, n]) => [g, round(n / o.rounds, 1)]),
      ),
      saturated_call_mix: callMix(sat.forwards, sat.rows, o.rounds),
      batch1_call_mix: callMix(one.forwards, one.rows, o.rounds),
      saturated_tokens_per_s: spread(sat.tokensPerS),
      batch1_tokens_per_s: spread(one.tokensPerS),
      saturated_speedup: round(
        median(sat.tokensPerS) / median(saturated.get(VANILLA)!.tokensPerS),
        2,
      ),
      batch1_speedup: round(median(one.tokensPerS) / median(single.get(VANILLA)!.tokensPerS), 2),
    };
  });
  const within = rows.filter((r) => r.accuracy_delta >= -MAX_ACCURACY_DROP);
  const best = (key: 'saturated_speedup' | 'batch1_speedup') => {
    const b = within.reduce((x, y) => (y[key] > x[key] ? y : x));
    return { setting: b.setting, speedup: b[key], accuracy_delta: b.accuracy_delta };
  };
  const cacheAlone = rows.find((r) => r.setting === 'fixed k=1, dual cache');
  return {
    gen_length: length,
    items: o.items,
    vanilla_accuracy: round(vanillaQuality.accuracy, 2),
    headline: {
      within_points_of_vanilla_accuracy: MAX_ACCURACY_DROP,
      batch1: best('batch1_speedup'),
      saturated: best('saturated_speedup'),
      cache_alone_fixed_k1: cacheAlone && {
        batch1_speedup: cacheAlone.batch1_speedup,
        saturated_speedup: cacheAlone.saturated_speedup,
        accuracy_delta: cacheAlone.accuracy_delta,
      },
    },
    settings: rows,
  };
}

main().catch((err: Error) => {
  process.stderr.write(`bench:speed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
