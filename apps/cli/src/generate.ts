/**
 * Embedded bulk run: JSONL in, JSONL out (same order), no services.
 *   npm run generate -- --input examples/prompts.jsonl --output out.jsonl [--policy threshold] [...]
 *   dllm generate --input ... (the same command)
 * Exit code: 0 every line generated, 1 some lines failed (their errors are in the output), 2 usage error.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { Command, CommanderError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { Engine, parseGenerationParams, type GenerationResult } from '@dllm/engine';
import { readCatalogModel } from '@dllm/engine/bundle/model-catalog';
import { CliError, EXIT } from './exit-codes';
import { LineError, parseInputLine } from './input-line';
import { OrderedWriter } from './ordered-writer';
import { paramOptions, paramsFromFlags } from './param-flags';

const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
};

/** The bundled model, wherever the command is run from. */
const BUNDLED_MODEL =
  relative(process.cwd(), resolve(__dirname, '../../../models/dllm-code-small')) || '.';

const generateCommand = (name: string): Command =>
  new Command()
    .name(name)
    .description(
      'Bulk generation with a diffusion LM, in process: one output line per input line, in order.',
    )
    .requiredOption(
      '-i, --input <file>',
      'JSONL: {"custom_id","prompt"} or {"custom_id","prefix","suffix"}, optional per-line params',
    )
    .requiredOption('-o, --output <file>', 'JSONL results, same order as the input')
    .option(
      '-m, --model <dir>',
      'model bundle folder (an imported one too); its dllm.json defaults apply',
      BUNDLED_MODEL,
    )
    .option('--providers <list>', 'execution providers (webgpu, cuda, cpu), tried in order', 'cpu')
    .option('--require-gpu', 'fail when no GPU provider works instead of running on the cpu')
    .option('--threads <n>', 'onnxruntime intra-op threads (0 = default)', num, 0)
    .option('--max-batch-rows <n>', "rows per forward (default: the provider's)", num)
    .option('--max-batch-tokens <n>', "tokens per forward (default: the provider's)", num)
    .option('--no-progress', 'no progress bar')
    .exitOverride();

/** `generate` with a flag per generation parameter, as defaults for every line without its own. */
const generateCommandWithParams = (name: string): Command => {
  const command = generateCommand(name);
  for (const option of paramOptions()) command.addOption(option);
  return command;
};

interface Opts {
  input: string;
  output: string;
  model: string;
  providers: string;
  requireGpu?: boolean;
  threads: number;
  maxBatchRows?: number;
  maxBatchTokens?: number;
  progress: boolean;
  [k: string]: unknown;
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity }))
    if (line.trim()) n++;
  return n;
}

/** Runs the command on these arguments (after the command name); resolves with the exit code. */
export async function runGenerate(argv: string[], name = 'generate'): Promise<number> {
  let o: Opts;
  try {
    o = generateCommandWithParams(name).parse(argv, { from: 'user' }).opts<Opts>();
  } catch (err) {
    // commander printed the problem (or the help) already
    if (err instanceof CommanderError)
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
    throw err;
  }
  try {
    return await generate(o);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    return err instanceof CliError ? err.exitCode : EXIT.internal;
  }
}

async function generate(o: Opts): Promise<number> {
  if (!existsSync(o.input))
    throw new CliError(EXIT.usage, `cannot read --input ${o.input}: no such file`);
  if (!existsSync(o.model))
    throw new CliError(EXIT.usage, `--model ${o.model}: no such model bundle folder`);
  const defaults = paramsFromFlags(o);
  // its name (a line's `model` must be it) and its dllm.json defaults, as the API applies them
  const bundle = readCatalogModel({ dir: o.model }, '--model');
  const engine = await Engine.start({
    modelDir: o.model,
    executionProviders: o.providers.split(',').map((s) => s.trim()),
    requireGpu: o.requireGpu,
    intraOpThreads: o.threads,
    maxBatchRows: o.maxBatchRows,
    maxBatchTokens: o.maxBatchTokens,
  });
  const total = await countLines(o.input);
  const bar = new SingleBar(
    {
      format: ' {bar} {value}/{total} items | {tps} tok/s | eta {eta_formatted}',
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  if (o.progress) bar.start(total, 0, { tps: '0' });
  const out = createWriteStream(o.output);
  const writer = new OrderedWriter(out);
  const started = performance.now();
  let done = 0;
  let ok = 0;
  let tokens = 0;
  let forwards = 0;
  // enough rows in flight to keep every forward full, few enough to bound memory on huge files
  const maxInFlight = engine.info.maxBatchRows * 4;
  const inFlight = new Set<Promise<void>>();
  const finish = (index: number, line: string): void => {
    writer.put(index, line);
    done++;
    if (o.progress)
      bar.update(done, { tps: (tokens / ((performance.now() - started) / 1000)).toFixed(0) });
  };

  let index = 0;
  let lineNo = 0;
  for await (const text of createInterface({
    input: createReadStream(o.input),
    crlfDelay: Infinity,
  })) {
    lineNo++;
    if (!text.trim()) continue; // blank lines are not items
    const i = index++;
    let parsed;
    try {
      parsed = parseInputLine(text, lineNo, defaults, bundle);
    } catch (err) {
      const e = err as LineError;
      finish(
        i,
        JSON.stringify({
          custom_id: e.customId ?? null,
          error: { line: e.line, message: e.message },
        }),
      );
      continue;
    }
    const { customId, task, params } = parsed;
    const line = lineNo;
    const job = engine
      .generate({ task, params: parseGenerationParams(params, 'params', bundle.defaults) })
      .then(
        (r: GenerationResult) => {
          ok++;
          tokens += r.tokens;
          forwards += r.steps;
          finish(i, JSON.stringify({ custom_id: customId, ...r }));
        },
        (err: Error) =>
          finish(
            i,
            JSON.stringify({
              custom_id: customId,
              error: { line, message: `line ${line}: ${err.message}` },
            }),
          ),
      )
      .finally(() => inFlight.delete(job));
    inFlight.add(job);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await writer.flush();
  out.end();
  await once(out, 'finish');
  if (o.progress) bar.stop();
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    items: done,
    ok,
    errors: done - ok,
    tokens,
    seconds: Number(seconds.toFixed(2)),
    tokens_per_second: Number((tokens / seconds).toFixed(1)),
    mean_forwards_per_item: ok ? Number((forwards / ok).toFixed(2)) : 0,
    provider: engine.info.provider,
  };
  process.stderr.write(
    `${summary.items} items (${summary.errors} errors), ${summary.tokens} tokens in ${summary.seconds}s: ` +
      `${summary.tokens_per_second} tokens/s, ${summary.mean_forwards_per_item} forwards per item -> ${o.output}\n`,
  );
  process.stderr.write(JSON.stringify(summary) + '\n');
  await engine.close();
  return summary.errors > 0 ? EXIT.itemsNotCompleted : EXIT.ok;
}

if (require.main === module) {
  void runGenerate(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
