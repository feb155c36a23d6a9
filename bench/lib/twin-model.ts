/**
 * One model of bench:twin, in its own process (so its resident memory is its own): starts the engine
 * on the bundle, warms it, reads RSS, then times each setting at batch 1 (items one at a time) and
 * saturated (every item at once), and prints one JSON object.
 * usage: tsx bench/lib/twin-model.ts JOB_JSON   (written by bench/twin.ts)
 */
import { readFileSync } from 'node:fs';
import {
  Engine,
  type EngineStats,
  type GenerationParamsInput,
  type GenerationResult,
  parseGenerationParams,
} from '@dllm/engine';
import { callMixBetween } from './call-mix';
import { round } from './matmul-peak';
import { median } from './timing';

export interface TwinJob {
  modelDir: string;
  prompts: string[];
  batch1Items: number;
  genLength: number;
  rounds: number;
  maxBatchRows: number;
  threads: number;
  settings: { label: string; params: GenerationParamsInput }[];
}

/** VmRSS / VmHWM of this process, MiB */
function memory(): { rss_mib: number; peak_rss_mib: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss_mib: round(kib('VmRSS') / 1024, 1), peak_rss_mib: round(kib('VmHWM') / 1024, 1) };
}

async function timed(
  engine: Engine,
  prompts: string[],
  params: ReturnType<typeof parseGenerationParams>,
  concurrent: boolean,
) {
  const before: EngineStats = await engine.stats();
  const start = performance.now();
  let results: GenerationResult[];
  if (concurrent) {
    results = await Promise.all(
      prompts.map((p) => engine.generate({ task: { prompt: p }, params })),
    );
  } else {
    results = [];
    for (const p of prompts) results.push(await engine.generate({ task: { prompt: p }, params }));
  }
  const ms = performance.now() - start;
  const after = await engine.stats();
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  const rowForwards = results.reduce((a, r) => a + r.steps, 0);
  const calls =
    Object.values(after.forwards).reduce((a, n) => a + n, 0) -
    Object.values(before.forwards).reduce((a, n) => a + n, 0);
  return {
    tokensPerS: tokens / (ms / 1000),
    tokensPerForward: tokens / rowForwards,
    msPerCall: ms / calls,
    calls,
    mix: callMixBetween(after, before),
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as TwinJob;
  const baseline = memory();
  const engine = await Engine.start({
    modelDir: job.modelDir,
    maxBatchRows: job.maxBatchRows,
    intraOpThreads: job.threads,
    onWarning: (m) => process.stderr.write(`[engine] ${m}\n`),
  });
  const info = { provider: engine.info.provider, model: engine.info.model };
  try {
    // warm every graph path (and the arenas at full batch) before reading memory or timing
    for (const s of job.settings) {
      const params = parseGenerationParams({
        ...s.params,
        gen_length: job.genLength,
        stop_at_eos: false,
      });
      await Promise.all(
        job.prompts
          .slice(0, job.maxBatchRows)
          .map((p) => engine.generate({ task: { prompt: p }, params })),
      );
    }
    const warm = memory();
    const settings = [];
    for (const s of job.settings) {
      const params = parseGenerationParams({
        ...s.params,
        gen_length: job.genLength,
        temperature: 0,
        seed: 1,
        stop_at_eos: false,
      });
      const one = [];
      const sat = [];
      for (let r = 0; r < job.rounds; r++) {
        one.push(await timed(engine, job.prompts.slice(0, job.batch1Items), params, false));
        sat.push(await timed(engine, job.prompts, params, true));
      }
      const summary = (xs: Awaited<ReturnType<typeof timed>>[]) => ({
        tokens_per_s: round(median(xs.map((x) => x.tokensPerS)), 1),
        tokens_per_forward: round(median(xs.map((x) => x.tokensPerForward)), 2),
        ms_per_graph_call: round(median(xs.map((x) => x.msPerCall)), 2),
        call_mix: xs[0]!.mix,
      });
      settings.push({
        setting: s.label,
        params: s.params,
        batch1: summary(one),
        saturated: summary(sat),
      });
      process.stderr.write(`twin ${job.modelDir}: ${s.label} done\n`);
    }
    process.stdout.write(
      JSON.stringify({
        ...info,
        memory: {
          node_baseline_rss_mib: baseline.rss_mib,
          after_warmup_rss_mib: warm.rss_mib,
          model_rss_mib: round(warm.rss_mib - baseline.rss_mib, 1),
          peak_rss_mib: memory().peak_rss_mib,
        },
        settings,
      }),
    );
  } finally {
    await engine.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`twin-model: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
