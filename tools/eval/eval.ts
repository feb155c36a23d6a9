/**
 * Quality and speed of the commit policies on held-out Python: infill and continuation windows,
 * each policy at a few settings against `fixed` at one token per step. See README "Quality evaluation".
 *   npm run eval -- [--data DIR_OR_FILE] [--json OUT.json] [--samples N]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import {
  CACHE_MODES,
  type CacheMode,
  DllmTokenizer,
  Engine,
  parseGenerationParams,
  POLICIES,
} from '@dllm/engine';
import { fileWithSpan, repeatedNgrams } from './code-quality';
import { type ItemOutcome, tokenMatches } from './metrics';
import { PythonParser } from './python-parser';
import {
  buildEntries,
  formatQualityTable,
  formatTable,
  type RunResult,
  TARGET,
  targetCheck,
} from './report';
import { REFERENCE, requestParams, requestTask, SETTINGS, TASKS } from './tasks';
import { listSourceFiles, sampleWindows, type SourceFile } from './windows';

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

const program = new Command()
  .name('eval')
  .description(
    'exact-token accuracy and tokens per forward of every commit policy on held-out Python',
  )
  .option(
    '--data <path>',
    "a .py file or a folder (recursively *.py); default: the model's validation split",
  )
  .option('--json <file>', 'write the report here (default: stdout)')
  .option('--samples <n>', 'windows per task', positiveInt, 32)
  .option('--seed <n>', 'seed of the window sample and of the sampler', positiveInt, 1234)
  .option(
    '--policies <list>',
    'only these policies (comma-separated); the reference always runs',
    (v) => v.split(','),
  )
  .option('--model <dir>', 'model bundle', join(__dirname, '../../models/dllm-code-small'))
  .option(
    '--cache <mode>',
    `cache for every setting but the vanilla reference: ${CACHE_MODES.join(', ')}`,
    'auto',
  )
  .parse();

interface Options {
  data?: string;
  json?: string;
  samples: number;
  seed: number;
  model: string;
  policies?: string[];
  cache: CacheMode;
}

async function main(): Promise<void> {
  const opts = program.opts<Options>();
  const t0 = performance.now();
  const modelDir = resolve(opts.model);
  const tok = DllmTokenizer.fromFile(join(modelDir, 'tokenizer.json'));
  const decode = (ids: number[]): string => tok.decode(ids);
  const files: SourceFile[] = listSourceFiles(opts.data, modelDir).map((path) => ({
    path,
    ids: tok.encode(readFileSync(path, 'utf8')),
  }));
  const dataTokens = files.reduce((a, f) => a + f.ids.length, 0);
  const byPath = new Map(files.map((f) => [f.path, f.ids]));
  const referenceParseRate: Record<string, number> = {};

  const unknown = (opts.policies ?? []).filter((p) => !(POLICIES as readonly string[]).includes(p));
  if (unknown.length)
    throw new Error(`--policies: unknown ${unknown.join(', ')}; allowed: ${POLICIES.join(', ')}`);
  const settings = SETTINGS.filter(
    (s) => s === REFERENCE || !opts.policies || opts.policies.includes(s.policy),
  );

  if (!(CACHE_MODES as readonly string[]).includes(opts.cache))
    throw new Error(`--cache: one of ${CACHE_MODES.join(', ')}`);
  const parser = PythonParser.start();
  const engine = await Engine.start({ modelDir, maxBatchRows: 16 });
  const bar = new SingleBar({
    format: 'eval [{bar}] {value}/{total} items | {task} {setting}',
    hideCursor: true,
    // piped to a log: a line every 30 s instead of nothing
    noTTYOutput: true,
    notTTYSchedule: 30_000,
  });
  bar.start(TASKS.length * settings.length * opts.samples, 0, { task: '', setting: '' });
  const runs: RunResult[] = [];
  let reencodedReferences = 0;
  try {
    for (const [ti, task] of TASKS.entries()) {
      const windows = sampleWindows(
        files,
        task.shape,
        opts.samples,
        opts.seed + ti,
        engine.info.maxLength,
      );
      const references = windows.map((w) => {
        // the model sees text, so the reference is the span's text as the tokenizer encodes it alone
        const ref = tok.encode(decode(w.span));
        if (ref.length !== w.span.length || ref.some((id, i) => id !== w.span[i]))
          reencodedReferences++;
        const file = byPath.get(w.file)!;
        // the whole file around the span, for the parse check
        const around = {
          before: decode(file.slice(0, w.start)),
          after: decode(file.slice(w.start + w.span.length)),
        };
        return { text: decode(w.span), ids: ref, around };
      });
      const referenceParses = await Promise.all(
        references.map((r) => parser.parses(fileWithSpan(r.around, r.text))),
      );
      referenceParseRate[task.name] =
        (100 * referenceParses.filter(Boolean).length) / references.length;
      for (const setting of settings) {
        bar.update({ task: task.name, setting: `${setting.policy} ${setting.setting}` });
        const params = parseGenerationParams(requestParams(task, setting, opts.seed, opts.cache));
        const started = performance.now();
        const outcomes = await Promise.all(
          windows.map(async (w, i): Promise<ItemOutcome> => {
            const r = await engine.generate({ task: requestTask(task, w, decode), params });
            bar.increment();
            const ref = references[i]!;
            const out = tok.encode(r.text);
            const rep = repeatedNgrams(out);
            return {
              matches: tokenMatches(out, ref.ids),
              referenceTokens: ref.ids.length,
              exact: r.text === ref.text,
              forwards: r.steps,
              generatedTokens: r.tokens,
              parses: await parser.parses(fileWithSpan(ref.around, r.text)),
              repeated4: rep.repeated,
              fourGrams: rep.total,
            };
          }),
        );
        runs.push({ task: task.name, setting, outcomes, wallMs: performance.now() - started });
      }
    }
  } finally {
    bar.stop();
    parser.close();
    await engine.close();
  }

  const { entries, infillAll } = buildEntries(runs, REFERENCE);
  const target = targetCheck(infillAll);
  const runtime = (performance.now() - t0) / 1000;
  process.stderr.write(
    `\naccuracy / tokens per forward (greedy, ${opts.samples} windows per task)\n${formatTable(entries, infillAll)}\n` +
      `\nparse rate / repeated 4-grams (reference text: ${Object.entries(referenceParseRate)
        .map(([t, r]) => `${t} ${r.toFixed(0)}%`)
        .join(', ')})\n${formatQualityTable(entries)}\n`,
  );
  const meeting = target.filter((t) => t.meets).map((t) => t.setting);
  process.stderr.write(
    `target (threshold, infill-all: >= ${TARGET.tokensPerForward} tokens/forward, accuracy within ${TARGET.maxAccuracyDrop} point of fixed k=1): ` +
      `${meeting.length ? meeting.join(', ') : 'no setting meets it'}\nrun time ${runtime.toFixed(0)} s\n`,
  );

  const report = {
    date: new Date().toISOString(),
    model: engine.info.model,
    provider: engine.info.provider,
    data: {
      source: opts.data ?? join(modelDir, 'validation_files.json'),
      files: files.length,
      tokens: dataTokens,
    },
    samples_per_task: opts.samples,
    policies: opts.policies ?? POLICIES,
    seed: opts.seed,
    accuracy:
      'exact-token accuracy: position-wise equality of tokenizer.encode(output text) with tokenizer.encode(reference text), over the reference length',
    references_reencoded_differently: reencodedReferences,
    code_quality:
      'parse_rate: % of items after which the whole file, with the output in place of the span, passes ast.parse in Debian python3; repeated_4gram_share: % of 4-grams of the output (its own tokens) that repeat an earlier 4-gram of the same output',
    reference_text_parse_rate: referenceParseRate,
    cache: opts.cache,
    tasks: TASKS,
    reference: REFERENCE,
    runtime_s: runtime,
    entries,
    infill_all: infillAll,
    target: { ...TARGET, threshold: target },
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  if (opts.json) {
    mkdirSync(dirname(resolve(opts.json)), { recursive: true });
    writeFileSync(opts.json, json);
  } else process.stdout.write(json);
}

main().catch((err: Error) => {
  process.stderr.write(`eval: ${err.message}\n`);
  process.exit(1);
});
