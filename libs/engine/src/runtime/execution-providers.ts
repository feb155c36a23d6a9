/**
 * onnxruntime sessions on the first execution provider that works, from a configured order
 * (webgpu, cuda, cpu), saying which one runs and why the others did not. One call per graph: for a
 * bundle with several graphs, create the first with the configured order and the others with
 * `providers: [first.provider], requireGpu: first.provider !== 'cpu'`, so all run on one provider.
 */
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { diagnoseCuda, diagnoseWebGpu, realHost, type HostProbe } from './gpu-diagnostics';
import { measureNodePlacement, type NodePlacement } from './node-placement';

export const PROVIDERS = ['webgpu', 'cuda', 'cpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const GPU_PROVIDERS: readonly ProviderName[] = ['webgpu', 'cuda'];

/** onnxruntime's name for each provider in profiles (node placement). */
const ORT_PROVIDER_NAME: Record<ProviderName, string> = {
  webgpu: 'WebGpuExecutionProvider',
  cuda: 'CUDAExecutionProvider',
  cpu: 'CPUExecutionProvider',
};

export type OutputLocation = 'cpu' | 'gpu-buffer';

/** WebGPU provider options onnxruntime-node 1.30 accepts (it throws on unknown keys). */
export type WebGpuOptions = Omit<
  ort.InferenceSession.WebGpuExecutionProviderOption,
  'name' | 'device' | 'forceCpuNodeNames'
> & { forceCpuNodeNames?: string[] };

export interface CreateSessionOptions {
  /** tried in order; cpu is the last resort unless requireGpu */
  providers: readonly string[];
  /** no GPU provider works: throw instead of running on cpu */
  requireGpu?: boolean;
  /** 0 or unset = onnxruntime's default */
  intraOpThreads?: number;
  /**
   * Whether idle intra-op threads spin waiting for work (onnxruntime's default: yes). Each session
   * has its own pool, so one session's spinners slow the next call of another; unset = default.
   */
  intraOpSpinning?: boolean;
  graphOptimizationLevel?: ort.InferenceSession.SessionOptions['graphOptimizationLevel'];
  /**
   * Keep outputs on the device ('gpu-buffer': tensors to feed back as inputs, getData() to
   * download, dispose() to free). Only WebGPU can from Node; other providers always return host
   * memory, and the returned `outputLocation` says which applies.
   */
  preferredOutputLocation?: OutputLocation | Record<string, OutputLocation>;
  webgpu?: WebGpuOptions;
  cudaDeviceId?: number;
  /**
   * One small forward of this graph. Given, a GPU session is first checked by a profiled run that
   * counts the nodes each provider ran: a "GPU" session whose every node ran on the CPU counts as
   * a fallback, not a success.
   */
  probe?: (session: ort.InferenceSession) => Promise<void>;
  onWarning?: (message: string) => void;
  /** the host the failure diagnosis reads (tests) */
  host?: HostProbe;
}

export interface ProviderAttempt {
  provider: ProviderName;
  ok: boolean;
  /** onnxruntime's error, first line */
  error?: string;
  /** what is missing, for a GPU provider that failed */
  problems?: string[];
  ms: number;
}

export interface ProviderSession {
  session: ort.InferenceSession;
  provider: ProviderName;
  requested: ProviderName[];
  /** a GPU provider was requested and the session runs on the cpu */
  fellBack: boolean;
  attempts: ProviderAttempt[];
  outputLocation: OutputLocation | Record<string, OutputLocation>;
  /** nodes per onnxruntime provider in a profiled probe run; null when not measured */
  placement: NodePlacement | null;
}

/** A GPU was required and none worked; `attempts` says why for each. */
export class GpuUnavailableError extends Error {
  constructor(
    message: string,
    readonly attempts: ProviderAttempt[],
  ) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

/** Validates a provider list (case-insensitive), keeping its order; throws on an unknown name. */
export function parseProviders(list: readonly string[]): ProviderName[] {
  const out: ProviderName[] = [];
  for (const raw of list) {
    const name = raw.trim().toLowerCase();
    if (!(PROVIDERS as readonly string[]).includes(name)) {
      throw new Error(`unknown execution provider "${raw}" (known: ${PROVIDERS.join(', ')})`);
    }
    if (!out.includes(name as ProviderName)) out.push(name as ProviderName);
  }
  if (!out.length) throw new Error('no execution provider given');
  return out;
}

/** Folder of onnxruntime-node's native libraries (where the CUDA provider must be installed). */
export function ortNativeDir(): string {
  const pkg = require.resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin/napi-v6', process.platform, process.arch);
}

/** The session options for one provider: the provider, then the cpu for nodes it lacks. */
export function sessionOptionsFor(
  provider: ProviderName,
  opts: Omit<CreateSessionOptions, 'providers'>,
): {
  options: ort.InferenceSession.SessionOptions;
  outputLocation: ProviderSession['outputLocation'];
} {
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === 'webgpu'
      ? { name: 'webgpu', ...opts.webgpu }
      : provider === 'cuda'
        ? { name: 'cuda', deviceId: opts.cudaDeviceId ?? 0 }
        : 'cpu';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: provider === 'cpu' ? ['cpu'] : [ep, 'cpu'],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
  };
  if (opts.intraOpThreads) options.intraOpNumThreads = opts.intraOpThreads;
  if (opts.intraOpSpinning !== undefined)
    options.extra = { session: { intra_op: { allow_spinning: opts.intraOpSpinning ? '1' : '0' } } };
  let outputLocation: ProviderSession['outputLocation'] = 'cpu';
  if (provider === 'webgpu' && opts.preferredOutputLocation) {
    options.preferredOutputLocation = opts.preferredOutputLocation;
    outputLocation = opts.preferredOutputLocation;
  }
  return { options, outputLocation };
}

/** onnxruntime's error in one line, without its source-file prefix. */
export function errorSummary(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (!line) return message;
  return /\bwas false\.\s*(.+)$/.exec(line)?.[1] ?? line;
}

/** What a failed GPU provider lacks, from the host's files and settings. */
export function diagnose(provider: ProviderName, host: HostProbe = realHost): string[] {
  if (provider === 'webgpu') return diagnoseWebGpu(host).problems;
  if (provider === 'cuda') return diagnoseCuda(ortNativeDir(), host).problems;
  return [];
}

/** One line per failed GPU attempt: the error, then what is missing. */
export function describeAttempts(attempts: readonly ProviderAttempt[]): string {
  return attempts
    .filter((a) => !a.ok && a.provider !== 'cpu')
    .map(
      (a) =>
        `${a.provider}: ${a.error ?? 'failed'}` +
        (a.problems?.length ? `; missing: ${a.problems.join('; ')}` : ''),
    )
    .join('\n');
}

/**
 * A session on the first provider of `opts.providers` that works. A GPU provider that fails is
 * diagnosed (what is missing) and the next one tried; ending on the cpu after asking for a GPU is
 * a loud warning, or a GpuUnavailableError with `requireGpu`.
 */
export async function createSession(
  modelPath: string,
  opts: CreateSessionOptions,
): Promise<ProviderSession> {
  const warn = opts.onWarning ?? ((m: string) => console.warn(m));
  const requested = parseProviders(opts.providers);
  const wantsGpu = requested.some((p) => p !== 'cpu');
  const order: ProviderName[] = requested.filter((p) => p !== 'cpu');
  if (!opts.requireGpu) order.push('cpu');
  const attempts: ProviderAttempt[] = [];

  for (const provider of order) {
    const t0 = performance.now();
    const { options, outputLocation } = sessionOptionsFor(provider, opts);
    let placement: NodePlacement | null = null;
    try {
      const session = await ort.InferenceSession.create(modelPath, options);
      if (provider !== 'cpu' && opts.probe) {
        try {
          placement = await checkPlacement(modelPath, options, provider, opts.probe, warn);
        } catch (err) {
          await session.release();
          throw err;
        }
      }
      attempts.push({ provider, ok: true, ms: Math.round(performance.now() - t0) });
      const fellBack = provider === 'cpu' && wantsGpu;
      if (fellBack) {
        warn(
          `GPU execution provider(s) ${requested.filter((p) => p !== 'cpu').join(', ')} requested ` +
            `but unavailable: RUNNING ON CPU (much slower). ${describeAttempts(attempts)}\n` +
            'Set ENGINE_REQUIRE_GPU=true to make this an error.',
        );
      } else if (attempts.length > 1) {
        warn(`running on ${provider}; earlier providers failed:\n${describeAttempts(attempts)}`);
      }
      return { session, provider, requested, fellBack, attempts, outputLocation, placement };
    } catch (err) {
      const attempt: ProviderAttempt = {
        provider,
        ok: false,
        error: errorSummary(err),
        ms: Math.round(performance.now() - t0),
      };
      if (provider === 'cpu') {
        throw new Error(`${modelPath}: cannot create an onnxruntime session: ${attempt.error}`, {
          cause: err,
        });
      }
      attempt.problems = diagnose(provider, opts.host);
      attempts.push(attempt);
    }
  }
  throw new GpuUnavailableError(
    `${modelPath}: no GPU execution provider works (requested ${requested.join(', ')}; ` +
      `ENGINE_REQUIRE_GPU is set, so no cpu fallback):\n${describeAttempts(attempts)}`,
    attempts,
  );
}

/** Throws when no node of the graph ran on `provider` (onnxruntime put all of it on the cpu). */
export function assertRunsOn(placement: NodePlacement, provider: ProviderName): void {
  const onProvider = placement.nodes[ORT_PROVIDER_NAME[provider]] ?? 0;
  if (onProvider === 0) {
    throw new Error(
      `the session was created but no node ran on ${ORT_PROVIDER_NAME[provider]} ` +
        `(nodes per provider: ${JSON.stringify(placement.nodes)})`,
    );
  }
}

/**
 * Node placement of a probe run: throws when no node ran on the provider, returns null (with a
 * warning) when it could not be measured.
 */
async function checkPlacement(
  modelPath: string,
  options: ort.InferenceSession.SessionOptions,
  provider: ProviderName,
  probe: (session: ort.InferenceSession) => Promise<void>,
  warn: (m: string) => void,
): Promise<NodePlacement | null> {
  let placement: NodePlacement;
  try {
    placement = await measureNodePlacement(modelPath, options, probe);
  } catch (err) {
    // the measurement failing (e.g. profiling unsupported) says nothing about the provider
    warn(`could not measure node placement on ${provider}: ${errorSummary(err)}`);
    return null;
  }
  assertRunsOn(placement, provider);
  return placement;
}
