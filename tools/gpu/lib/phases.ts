/**
 * The measurements of the GPU check, one function per phase; gpu-check.ts runs each in its own
 * process (run.sh), so a provider that crashes or hangs costs one phase, not the run.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  createSession,
  diagnoseCuda,
  diagnoseWebGpu,
  Engine,
  loadModelBundle,
  OrtForward,
  parseGenerationParams,
  type CacheMode,
  type EngineStats,
  type ForwardBatch,
  type ForwardResult,
  type ModelBundle,
  ortNativeDir,
  type ProviderName,
  type RefreshBatch,
} from '@dllm/engine';
import { flopsPerForward, readModelDimensions } from '../../lib/flops';
import { median } from '../../lib/timing';
import { textBatch } from './inputs';
import { compareReduced, parityVerdict, type ParityVerdict } from './parity';
import type { PromptSet } from './prompt-set';

export interface PhaseContext {
  modelDir: string;
  prompts: PromptSet;
  /** stop starting new measurements after this (ms since epoch) */
  deadline: number;
  intraOpThreads: number;
  log: (message: string) => void;
  /** saves a partial result, so a phase killed at its time limit keeps what it measured */
  checkpoint: (partial: unknown) => void;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
/** 1/5/15-minute load: on a shared machine, what else competed for the CPU */
const loadavgNow = (): number[] => loadavg().map((x) => round(x));
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A one-row forward of the bundle, for node placement and warm-up. */
function probeFor(bundle: ModelBundle) {
  return async (s: ort.InferenceSession): Promise<void> => {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', new BigInt64Array(8).fill(BigInt(bundle.maskId)), [1, 8]),
    };
    if (bundle.hasAttentionMask)
      feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(8).fill(1n), [1, 8]);
    await s.run(feeds);
  };
}

// ---------------------------------------------------------------- detect

export interface ProviderProbe {
  provider: ProviderName;
  ok: boolean;
  skipped?: string;
  error?: string;
  problems?: string[];
  sessionMs?: number;
  placement?: Record<string, number> | null;
  cpuOps?: string[];
  warnings?: string[];
}

/** Which GPU providers give a session here, with what is missing for those that do not. */
export async function detect(ctx: PhaseContext) {
  const bundle = loadModelBundle(ctx.modelDir);
  const cudaLib = join(ortNativeDir(), 'libonnxruntime_providers_cuda.so');
  const providers: ProviderProbe[] = [];
  for (const provider of ['webgpu', 'cuda'] as const) {
    if (provider === 'cuda' && !existsSync(cudaLib)) {
      providers.push({
        provider,
        ok: false,
        skipped:
          'the CUDA provider libraries were not packed: onnxruntime-node does not ship them; its install script ' +
          'downloads them from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux), which the packing machine could not reach',
        problems: diagnoseCuda(ortNativeDir()).problems,
      });
      continue;
    }
    ctx.log(`detect: ${provider}`);
    const warnings: string[] = [];
    const t0 = performance.now();
    try {
      const s = await createSession(bundle.modelPath, {
        providers: [provider],
        requireGpu: true,
        probe: probeFor(bundle),
        onWarning: (m) => warnings.push(m),
      });
      const sessionMs = Math.round(performance.now() - t0);
      await s.session.release();
      providers.push({
        provider,
        ok: true,
        sessionMs,
        placement: s.placement?.nodes ?? null,
        cpuOps: s.placement?.cpuOps,
        warnings,
      });
    } catch (err) {
      const attempts = (err as { attempts?: { error?: string; problems?: string[] }[] }).attempts;
      providers.push({
        provider,
        ok: false,
        error: attempts?.[0]?.error ?? errorText(err),
        problems: attempts?.[0]?.problems ?? [],
        warnings,
      });
    }
  }
  return {
    host: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      loadavg: loadavgNow(),
      node: process.version,
      onnxruntime: ort.env.versions.node ?? 'unknown',
      backends: ort.listSupportedBackends(),
      env: Object.fromEntries(
        [
          'NVIDIA_DRIVER_CAPABILITIES',
          'NVIDIA_VISIBLE_DEVICES',
          'VK_DRIVER_FILES',
          'VK_ICD_FILENAMES',
          'LD_LIBRARY_PATH',
        ].map((k) => [k, process.env[k] ?? null]),
      ),
    },
    webgpuDiagnosis: diagnoseWebGpu(),
    providers,
    usable: providers.filter((p) => p.ok).map((p) => p.provider),
  };
}

// ---------------------------------------------------------------- parity

/** GPU against CPU on the same forward inputs; the gpu-buffer output path; greedy generations. */
export async function parity(ctx: PhaseContext, provider: ProviderName) {
  const bundle = loadModelBundle(ctx.modelDir);
  const L = ctx.prompts.windowTokens;
  const w = ctx.prompts.windows;
  const batches = [
    textBatch(w, {
      rows: 16,
      length: L,
      maskId: bundle.maskId,
      padId: bundle.padId,
      ragged: false,
    }),
    textBatch(w.slice(16).concat(w), {
      rows: 16,
      length: L,
      maskId: bundle.maskId,
      padId: bundle.padId,
      ragged: true,
    }),
    textBatch(w.slice(32).concat(w), {
      rows: 64,
      length: L,
      maskId: bundle.maskId,
      padId: bundle.padId,
      ragged: true,
    }),
  ];
  const cpu = await OrtForward.create(bundle, {
    executionProviders: ['cpu'],
    intraOpThreads: ctx.intraOpThreads,
  });
  const gpu = await OrtForward.create(bundle, {
    executionProviders: [provider],
    requireGpu: provider !== 'cpu',
    onWarning: ctx.log,
  });
  const parts = [];
  const gpuOuts: ForwardResult[] = [];
  let refresh: Awaited<ReturnType<typeof refreshParity>> | { skipped: string } = {
    skipped: 'the bundle has no cache graphs',
  };
  try {
    for (const b of batches) {
      const c = await cpu.run(b);
      const g = await gpu.run(b);
      gpuOuts.push(g);
      parts.push(compareReduced(c, g, b.attention));
    }
    if (bundle.cacheGraphs) refresh = await refreshParity(bundle, batches[0]!, cpu, gpu);
  } finally {
    await cpu.release();
    await gpu.release();
  }
  const verdict: ParityVerdict = parityVerdict(parts);
  ctx.log(
    `parity ${provider}: ${verdict.pass ? 'PASS' : 'FAIL'} (${verdict.positions} positions, max |dp| ${verdict.maxProbDiff.toExponential(2)})`,
  );

  const gpuBuffer =
    provider === 'webgpu'
      ? await gpuBufferCheck(bundle, batches[0]!, gpuOuts[0]!)
      : { skipped: `${provider} outputs always return to host memory from Node` };
  const generation =
    Date.now() < ctx.deadline
      ? await generationParity(ctx, provider)
      : { skipped: 'time budget spent' };
  return { provider, forwards: verdict, refresh, gpuBuffer, generation };
}

/** The refresh graph (cached decoding) on both providers: its head, and the cache it returns. */
async function refreshParity(
  bundle: ModelBundle,
  batch: ForwardBatch,
  cpu: OrtForward,
  gpu: OrtForward,
) {
  const g = bundle.cacheGraphs!;
  const headStart = Math.floor(batch.length / 2);
  const headLength = Math.min(32, batch.length - headStart - g.halo);
  const headPositions = new BigInt64Array(batch.rows * headLength);
  const haloPositions = new BigInt64Array(batch.rows * 2 * g.halo);
  for (let r = 0; r < batch.rows; r++) {
    for (let i = 0; i < headLength; i++) headPositions[r * headLength + i] = BigInt(headStart + i);
    for (let i = 0; i < g.halo; i++) {
      haloPositions[r * 2 * g.halo + i] = BigInt(headStart - g.halo + i);
      haloPositions[r * 2 * g.halo + g.halo + i] = BigInt(headStart + headLength + i);
    }
  }
  const rb: RefreshBatch = { ...batch, headLength, headPositions, haloPositions };
  const c = await cpu.refresh!(rb);
  const o = await gpu.refresh!(rb);
  const head = parityVerdict([
    compareReduced(c.head, o.head, new BigInt64Array(batch.rows * headLength).fill(1n)),
  ]);
  const cacheDiff = (a: Float32Array, b: Float32Array) => {
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
    return { maxAbs, maxDiff, relative: maxAbs > 0 ? maxDiff / maxAbs : 0 };
  };
  const cache = {
    keys: cacheDiff(c.keys, o.keys),
    values: cacheDiff(c.values, o.values),
    halo: cacheDiff(c.halo, o.halo),
  };
  const CACHE_REL_TOL = 1e-3;
  return {
    head,
    cache,
    cacheTolerance: { relativeToLargestMagnitude: CACHE_REL_TOL },
    pass: head.pass && Object.values(cache).every((d) => d.relative <= CACHE_REL_TOL),
  };
}

/** Outputs kept on the GPU ('gpu-buffer'): their location, and their download equal to host outputs. */
async function gpuBufferCheck(
  bundle: ModelBundle,
  batch: ReturnType<typeof textBatch>,
  hostOut: ForwardResult,
) {
  const names = ['top_ids', 'top_probs', 'entropy'];
  try {
    const s = await createSession(bundle.modelPath, {
      providers: ['webgpu'],
      requireGpu: true,
      preferredOutputLocation: 'gpu-buffer',
    });
    try {
      const dims = [batch.rows, batch.length];
      const out = await s.session.run(
        {
          input_ids: new ort.Tensor('int64', batch.ids, dims),
          attention_mask: new ort.Tensor('int64', batch.attention, dims),
        },
        names,
      );
      const locations = Object.fromEntries(names.map((n) => [n, out[n]!.location]));
      const t0 = performance.now();
      const probs = (await (out.top_probs as ort.Tensor).getData(true)) as Float32Array;
      const ids = (await (out.top_ids as ort.Tensor).getData(true)) as BigInt64Array;
      const downloadMs = round(performance.now() - t0);
      (out.entropy as ort.Tensor).dispose();
      let maxDiff = 0;
      for (let i = 0; i < probs.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(probs[i]! - hostOut.topProbs![i]!));
      let idsEqual = ids.length === hostOut.topIds!.length;
      for (let i = 0; idsEqual && i < ids.length; i++) idsEqual = ids[i] === hostOut.topIds![i];
      return {
        outputLocation: s.outputLocation,
        locations,
        downloadMs,
        idsEqualToHostOutputs: idsEqual,
        maxProbDiffToHostOutputs: maxDiff,
      };
    } finally {
      await s.session.release();
    }
  } catch (err) {
    return { error: errorText(err) };
  }
}

/** Greedy generations through the Engine on both providers: how many texts come out identical. */
async function generationParity(ctx: PhaseContext, provider: ProviderName) {
  const prompts = ctx.prompts.prompts.slice(0, 16);
  const params = parseGenerationParams({
    policy: 'threshold',
    threshold: 0.9,
    gen_length: 32,
    temperature: 0,
    stop_at_eos: false,
    seed: 7,
  });
  const texts: Record<string, { text: string; steps: number }[]> = {};
  for (const p of ['cpu', provider] as const) {
    const engine = await Engine.start({
      modelDir: ctx.modelDir,
      executionProviders: [p],
      requireGpu: p !== 'cpu',
      maxBatchRows: 16,
      intraOpThreads: ctx.intraOpThreads,
      onWarning: ctx.log,
    });
    try {
      texts[p] = (
        await Promise.all(prompts.map((prompt) => engine.generate({ task: { prompt }, params })))
      ).map((r) => ({ text: r.text, steps: r.steps }));
    } finally {
      await engine.close();
    }
  }
  const a = texts.cpu!;
  const b = texts[provider]!;
  return {
    items: prompts.length,
    identicalTexts: a.filter((r, i) => r.text === b[i]!.text).length,
    identicalSteps: a.filter((r, i) => r.steps === b[i]!.steps).length,
    note: 'informational: greedy decoding amplifies a near-tie flip into a different continuation',
  };
}

// ---------------------------------------------------------------- forward timings

export interface ForwardPoint {
  batch: number;
  length: number;
  medianMs: number;
  minMs: number;
  repeats: number;
  tokensPerSec: number;
  gflops: number;
}

/** Forward latency through the engine's runtime (OrtForward) at each batch size, reduced outputs fetched. */
export async function forwardTimings(
  ctx: PhaseContext,
  provider: ProviderName,
  batches: number[],
  repeats: number,
) {
  const bundle = loadModelBundle(ctx.modelDir);
  const dims = readModelDimensions(ctx.modelDir);
  const L = ctx.prompts.windowTokens;
  const t0 = performance.now();
  const forward = await OrtForward.create(bundle, {
    executionProviders: [provider],
    requireGpu: provider !== 'cpu',
    intraOpThreads: ctx.intraOpThreads,
    onWarning: ctx.log,
  });
  const sessionMs = Math.round(performance.now() - t0);
  const points: ForwardPoint[] = [];
  const skipped: number[] = [];
  try {
    for (const B of batches) {
      if (Date.now() > ctx.deadline) {
        skipped.push(B);
        continue;
      }
      const input = textBatch(ctx.prompts.windows, {
        rows: B,
        length: L,
        maskId: bundle.maskId,
        padId: bundle.padId,
        ragged: false,
      });
      const w0 = performance.now();
      await forward.run(input); // first run of a shape: kernels compiled / buffers sized
      const firstMs = performance.now() - w0;
      await forward.run(input);
      const ms: number[] = [];
      for (let i = 0; i < repeats && (i < 3 || Date.now() < ctx.deadline); i++) {
        const s = performance.now();
        await forward.run(input);
        ms.push(performance.now() - s);
      }
      const med = median(ms);
      points.push({
        batch: B,
        length: L,
        medianMs: round(med, 3),
        minMs: round(Math.min(...ms), 3),
        repeats: ms.length,
        tokensPerSec: Math.round((B * L) / (med / 1000)),
        gflops: round(flopsPerForward(dims, B, L) / 1e9 / (med / 1000), 1),
      });
      ctx.log(
        `forward ${provider} B=${B} L=${L}: ${med.toFixed(2)} ms (first run ${firstMs.toFixed(0)} ms)`,
      );
      ctx.checkpoint({ provider: forward.provider, sessionMs, points, complete: false });
    }
  } finally {
    await forward.release();
  }
  points.sort((a, b) => a.batch - b.batch);
  return {
    provider: forward.provider,
    sessionMs,
    placement: forward.providerInfo.placement?.nodes ?? null,
    points,
    skipped,
    loadavg: loadavgNow(),
    complete: true,
  };
}

// ---------------------------------------------------------------- end to end

export interface E2ePoint {
  batch: number;
  /** the request's cache mode (auto = the block cache when the bundle has its graphs) */
  cache: CacheMode;
  items: number;
  tokens: number;
  wallS: number;
  tokensPerSec: number;
  forwardsPerItem: number;
  engineForwards: number;
  rowsPerForward: number;
  forwardMsMean: number;
  /** (step - forward) / step: the engine's JS work per step */
  jsShare: number;
  startMs: number;
}

export const E2E_SETTINGS = {
  policy: 'threshold',
  threshold: 0.9,
  gen_length: 64,
  temperature: 0,
  stop_at_eos: false,
} as const;

/**
 * Tokens/s through the Engine (worker thread, scheduler, sampler: what a worker runs) with
 * maxBatchRows = B and 3B prompts (at least 8) submitted at once, so the batch stays full; once per
 * cache mode in `caches` (a request parameter, so one engine per batch size serves them all).
 */
export async function endToEnd(
  ctx: PhaseContext,
  provider: ProviderName,
  batches: number[],
  caches: CacheMode[] = ['auto'],
) {
  const points: E2ePoint[] = [];
  const skipped: number[] = [];
  const warnings: string[] = [];
  const all = ctx.prompts.prompts;
  for (const B of batches) {
    // skip a measurement that the rate seen so far says would run past the deadline
    const last = points[points.length - 1];
    const expectedMs = last
      ? (caches.length * Math.max(8, 3 * B) * E2E_SETTINGS.gen_length * 1000) / last.tokensPerSec
      : 0;
    if (Date.now() + expectedMs > ctx.deadline) {
      skipped.push(B);
      continue;
    }
    const s0 = performance.now();
    const engine = await Engine.start({
      modelDir: ctx.modelDir,
      executionProviders: [provider],
      requireGpu: provider !== 'cpu',
      maxBatchRows: B,
      maxBatchTokens: B * 256,
      intraOpThreads: ctx.intraOpThreads,
      onWarning: (m) => warnings.push(m),
    });
    const startMs = Math.round(performance.now() - s0);
    try {
      const items = Math.max(8, 3 * B);
      const prompts = Array.from({ length: items }, (_, i) => all[i % all.length]!);
      // warm-up: a few short rows so first-shape costs (kernel compiles, arena growth) stay out
      await Promise.all(
        prompts.slice(0, B).map((prompt, i) =>
          engine.generate({
            task: { prompt },
            params: parseGenerationParams({ ...E2E_SETTINGS, gen_length: 8, seed: i }),
          }),
        ),
      );
      for (const cache of caches) {
        const before = await engine.stats();
        const t0 = performance.now();
        const results = await Promise.all(
          prompts.map((prompt, i) =>
            engine.generate({
              task: { prompt },
              params: parseGenerationParams({ ...E2E_SETTINGS, cache, seed: 1000 + i }),
            }),
          ),
        );
        const wallMs = performance.now() - t0;
        const s = diff(await engine.stats(), before);
        const tokens = results.reduce((a, r) => a + r.tokens, 0);
        const point: E2ePoint = {
          batch: B,
          cache,
          items,
          tokens,
          wallS: round(wallMs / 1000, 3),
          tokensPerSec: round(tokens / (wallMs / 1000), 1),
          forwardsPerItem: round(results.reduce((a, r) => a + r.steps, 0) / items),
          engineForwards: s.steps,
          rowsPerForward: round(s.rowsInForwards / s.steps),
          forwardMsMean: round(s.forwardMs / s.steps, 3),
          jsShare: round((s.stepMs - s.forwardMs) / s.stepMs, 4),
          startMs,
        };
        points.push(point);
        ctx.log(
          `e2e ${provider} B=${B} cache=${cache}: ${point.tokensPerSec} tok/s (${items} items, ${point.rowsPerForward} rows/forward, ${point.forwardMsMean} ms/forward)`,
        );
      }
      ctx.checkpoint({ provider, settings: E2E_SETTINGS, points, warnings, complete: false });
    } finally {
      await engine.close();
    }
  }
  points.sort((a, b) => a.batch - b.batch || a.cache.localeCompare(b.cache));
  return {
    provider,
    settings: E2E_SETTINGS,
    promptTokens: ctx.prompts.promptTokens,
    points,
    skipped,
    warnings,
    loadavg: loadavgNow(),
    complete: true,
  };
}

type Counters = Pick<EngineStats, 'steps' | 'forwardMs' | 'stepMs' | 'rowsInForwards'>;
function diff(a: EngineStats, b: EngineStats): Counters {
  return {
    steps: a.steps - b.steps,
    forwardMs: a.forwardMs - b.forwardMs,
    stepMs: a.stepMs - b.stepMs,
    rowsInForwards: a.rowsInForwards - b.rowsInForwards,
  };
}
