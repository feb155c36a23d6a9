/**
 * The GPU check's measurements, one phase per invocation (run.sh runs each in its own process
 * with a time limit). Bundled with esbuild into the pack by check.sh; runs from sources with tsx:
 *   tsx tools/gpu/gpu-check.ts detect  --json OUT.json [--model DIR] [--prompts FILE]
 *   tsx tools/gpu/gpu-check.ts parity  --provider webgpu --json OUT.json
 *   tsx tools/gpu/gpu-check.ts forward --provider cpu --batches 1,2,4 --json OUT.json
 *   tsx tools/gpu/gpu-check.ts e2e     --provider cpu --batches 1,2,4 --json OUT.json
 *   tsx tools/gpu/gpu-check.ts report  --work DIR --out FILE [--manifest F] [--baseline F] [--gpu-info F]
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CACHE_MODES, PROVIDERS, type CacheMode, type ProviderName } from '@dllm/engine';
import { detect, endToEnd, forwardTimings, parity, type PhaseContext } from './lib/phases';
import { readPromptSet } from './lib/prompt-set';
import { buildReport, type PhaseStatus } from './lib/report';

const int =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
const intList = (v: string): number[] => v.split(',').map(int(1));
const cacheList = (v: string): CacheMode[] =>
  v.split(',').map((c) => {
    if (!(CACHE_MODES as readonly string[]).includes(c))
      throw new InvalidArgumentError(`unknown cache mode ${c}`);
    return c as CacheMode;
  });
const log = (m: string): void => void process.stderr.write(`[gpu-check] ${m}\n`);

interface Common {
  json: string;
  model: string;
  prompts: string;
  budgetS: number;
  threads: number;
}

function context(o: Common): PhaseContext {
  return {
    modelDir: o.model,
    prompts: readPromptSet(o.prompts),
    deadline: Date.now() + o.budgetS * 1000,
    intraOpThreads: o.threads,
    log,
    checkpoint: (partial) => writeFileSync(o.json, `${JSON.stringify(partial, null, 2)}\n`),
  };
}

function write(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  log(`wrote ${path}`);
}

const program = new Command('gpu-check').description('GPU check phases (see tools/gpu/README.md)');

function phase(name: string, description: string) {
  return program
    .command(name)
    .description(description)
    .requiredOption('--json <file>', 'where to write the result')
    .option(
      '--model <dir>',
      'model bundle',
      process.env.GPU_CHECK_MODEL ?? 'models/dllm-code-small',
    )
    .option(
      '--prompts <file>',
      'prompt set (tools/gpu/make-prompts.ts)',
      process.env.GPU_CHECK_PROMPTS ?? 'prompts.json',
    )
    .option('--budget-s <n>', 'start no new measurement after this many seconds', int(1), 120)
    .option(
      '--threads <n>',
      'onnxruntime intra-op threads for cpu sessions (0 = default)',
      int(0),
      0,
    );
}
const providerOption = () =>
  new Option('--provider <name>', 'execution provider').choices(PROVIDERS).makeOptionMandatory();

phase(
  'detect',
  'which GPU providers give a session here, and what is missing for the others',
).action(async (o: Common) => {
  write(o.json, await detect(context(o)));
});

phase('parity', 'GPU vs CPU outputs on the same inputs')
  .addOption(providerOption())
  .action(async (o: Common & { provider: ProviderName }) => {
    write(o.json, await parity(context(o), o.provider));
  });

phase('forward', 'forward latency per batch size')
  .addOption(providerOption())
  .option('--batches <list>', 'batch sizes', intList, [1, 2, 4, 8, 16, 32, 64])
  .option('--repeats <n>', 'timed forwards per batch size', int(1), 10)
  .action(async (o: Common & { provider: ProviderName; batches: number[]; repeats: number }) => {
    write(o.json, await forwardTimings(context(o), o.provider, o.batches, o.repeats));
  });

phase('e2e', 'tokens/s through the Engine per batch size')
  .addOption(providerOption())
  .option('--batches <list>', 'engine maxBatchRows values', intList, [1, 2, 4, 8, 16, 32, 64])
  .option('--caches <list>', `request cache modes (${CACHE_MODES.join(', ')})`, cacheList, ['auto'])
  .action(
    async (o: Common & { provider: ProviderName; batches: number[]; caches: CacheMode[] }) => {
      write(o.json, await endToEnd(context(o), o.provider, o.batches, o.caches));
    },
  );

program
  .command('report')
  .description('merge the phase results of a run into one JSON')
  .requiredOption('--work <dir>', 'folder with <phase>.json files and status.jsonl')
  .requiredOption('--out <file>', 'merged report')
  .option('--manifest <file>', "the pack's MANIFEST.json")
  .option('--baseline <file>', 'a previous report from the reference 2-core CPU machine')
  .option('--gpu-info <file>', 'nvidia-smi output')
  .action(
    (o: { work: string; out: string; manifest?: string; baseline?: string; gpuInfo?: string }) => {
      const readJson = (path: string | undefined): unknown =>
        path && existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
      const statusFile = join(o.work, 'status.jsonl');
      const statuses = existsSync(statusFile)
        ? readFileSync(statusFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as PhaseStatus)
        : [];
      const phases: Record<string, unknown> = {};
      for (const f of readdirSync(o.work).filter((n) => n.endsWith('.json')))
        phases[f.replace(/\.json$/, '')] = readJson(join(o.work, f));
      const baseline = readJson(o.baseline) as { phases?: Record<string, unknown> } | null;
      const report = buildReport({
        date: new Date().toISOString(),
        manifest: readJson(o.manifest),
        statuses,
        phases,
        baseline:
          baseline && o.baseline
            ? { source: o.baseline.split('/').pop()!, report: baseline }
            : null,
        gpuInfo: o.gpuInfo && existsSync(o.gpuInfo) ? readFileSync(o.gpuInfo, 'utf8').trim() : null,
      });
      write(o.out, report);
      process.stdout.write(`${JSON.stringify(report.summary, null, 2)}\n`);
    },
  );

program.parseAsync().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
