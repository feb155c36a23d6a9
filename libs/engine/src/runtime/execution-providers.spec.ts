import * as ort from 'onnxruntime-node';
import {
  assertRunsOn,
  createSession,
  errorSummary,
  GpuUnavailableError,
  parseProviders,
  sessionOptionsFor,
} from './execution-providers';
import { diagnoseWebGpu } from './gpu-diagnostics';
import { measureNodePlacement, placementFromProfile } from './node-placement';

// Real onnxruntime-node on a machine without a GPU: WebGPU fails for real here (no Vulkan loader,
// or Debian's lavapipe, which Dawn refuses: scripts/ensure-vulkan-test-deps.sh), so the selection,
// fallback and error paths run as they would on a misconfigured GPU host.
const MODEL = 'models/dllm-code-small/model.onnx';

const probe = async (s: ort.InferenceSession): Promise<void> => {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(8).fill(2n), [1, 8]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(8).fill(1n), [1, 8]),
  };
  await s.run(feeds);
};

describe('parseProviders', () => {
  it('keeps the order, lowercases, drops repeats', () => {
    expect(parseProviders(['WebGPU', ' cuda', 'cpu', 'webgpu'])).toEqual(['webgpu', 'cuda', 'cpu']);
  });
  it('refuses an unknown provider by name', () => {
    expect(() => parseProviders(['webgpu', 'tpu'])).toThrow(
      'unknown execution provider "tpu" (known: webgpu, cuda, cpu)',
    );
    expect(() => parseProviders([])).toThrow('no execution provider given');
  });
});

describe('sessionOptionsFor', () => {
  it('webgpu: its options, then cpu for nodes it lacks; gpu-buffer outputs only there', () => {
    const opts = {
      preferredOutputLocation: 'gpu-buffer' as const,
      webgpu: { validationMode: 'disabled' as const },
    };
    const gpu = sessionOptionsFor('webgpu', opts);
    expect(gpu.options.executionProviders).toEqual([
      { name: 'webgpu', validationMode: 'disabled' },
      'cpu',
    ]);
    expect(gpu.options.preferredOutputLocation).toBe('gpu-buffer');
    expect(gpu.outputLocation).toBe('gpu-buffer');
    // CUDA and the cpu cannot keep outputs on the device from Node: host memory, said so
    for (const p of ['cuda', 'cpu'] as const) {
      const s = sessionOptionsFor(p, opts);
      expect(s.options.preferredOutputLocation).toBeUndefined();
      expect(s.outputLocation).toBe('cpu');
    }
    expect(sessionOptionsFor('cuda', { cudaDeviceId: 1 }).options.executionProviders).toEqual([
      { name: 'cuda', deviceId: 1 },
      'cpu',
    ]);
  });
});

describe('errorSummary', () => {
  it("keeps onnxruntime's message, not its source location", () => {
    const err = new Error(
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 lambda adapter_result.status == ' +
        'wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n',
    );
    expect(errorSummary(err)).toBe('Failed to get a WebGPU adapter: No supported adapters');
  });
});

describe('createSession (real onnxruntime, no GPU here)', () => {
  jest.setTimeout(60_000);

  it('cpu only: runs on the cpu, no warning, no fallback', async () => {
    const warnings: string[] = [];
    const s = await createSession(MODEL, {
      providers: ['cpu'],
      onWarning: (m) => warnings.push(m),
    });
    expect(s).toMatchObject({
      provider: 'cpu',
      requested: ['cpu'],
      fellBack: false,
      placement: null,
    });
    expect(warnings).toEqual([]);
    await s.session.release();
  });

  it('webgpu without an adapter: the real error, what is missing, a loud fallback to cpu', async () => {
    const warnings: string[] = [];
    const s = await createSession(MODEL, {
      providers: ['webgpu', 'cpu'],
      // the option names must be ones onnxruntime-node accepts: an unknown one fails before the adapter
      webgpu: { validationMode: 'basic', storageBufferCacheMode: 'bucket' },
      preferredOutputLocation: 'gpu-buffer',
      probe,
      onWarning: (m) => warnings.push(m),
    });
    expect(s.provider).toBe('cpu');
    expect(s.fellBack).toBe(true);
    expect(s.outputLocation).toBe('cpu');
    const [webgpu, cpu] = s.attempts;
    expect(webgpu).toMatchObject({
      provider: 'webgpu',
      ok: false,
      error: 'Failed to get a WebGPU adapter: No supported adapters',
    });
    // the diagnosis names this machine's actual gaps (loader missing, or no GPU behind lavapipe)
    expect(webgpu!.problems).toEqual(diagnoseWebGpu().problems);
    expect(webgpu!.problems!.length).toBeGreaterThan(0);
    expect(cpu).toMatchObject({ provider: 'cpu', ok: true });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^GPU execution provider\(s\) webgpu requested but unavailable: RUNNING ON CPU/,
    );
    expect(warnings[0]).toContain(webgpu!.problems![0]);
    expect(warnings[0]).toContain('ENGINE_REQUIRE_GPU=true');
    await s.session.release();
  });

  it('an unknown webgpu option is refused by onnxruntime-node (so ours are real ones)', async () => {
    const err = await createSession(MODEL, {
      providers: ['webgpu'],
      requireGpu: true,
      webgpu: { noSuchOption: true } as never,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect((err as GpuUnavailableError).attempts[0]!.error).toMatch(
      /unrecognized option: 'noSuchOption'/,
    );
  });

  it('requireGpu: an error naming each provider and what it lacks, no cpu session', async () => {
    const err = await createSession(MODEL, {
      providers: ['webgpu', 'cuda'],
      requireGpu: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    const e = err as GpuUnavailableError;
    expect(e.attempts.map((a) => a.provider)).toEqual(['webgpu', 'cuda']);
    expect(e.message).toMatch(
      /no GPU execution provider works \(requested webgpu, cuda; ENGINE_REQUIRE_GPU is set/,
    );
    expect(e.message).toMatch(
      /^webgpu: Failed to get a WebGPU adapter: No supported adapters; missing: /m,
    );
    expect(e.message).toMatch(
      /^cuda: .*Failed to load shared library; missing: .*CUDA provider is not installed/m,
    );
  });

  it('a provider list without cpu still ends on the cpu (with the warning) unless a GPU is required', async () => {
    const s = await createSession(MODEL, { providers: ['cuda'], onWarning: () => undefined });
    expect(s.provider).toBe('cpu');
    expect(s.fellBack).toBe(true);
    await s.session.release();
  });
});

describe('node placement (onnxruntime profile)', () => {
  jest.setTimeout(60_000);

  it('counts the nodes each provider ran, from a real profiled run', async () => {
    const placement = await measureNodePlacement(
      MODEL,
      sessionOptionsFor('cpu', {}).options,
      probe,
    );
    expect(Object.keys(placement.nodes)).toEqual(['CPUExecutionProvider']);
    expect(placement.nodes.CPUExecutionProvider).toBeGreaterThan(50);
    expect(placement.cpuOps).toEqual(expect.arrayContaining(['MatMul', 'Softmax']));
    assertRunsOn(placement, 'cpu');
    // a session that claims webgpu but ran everything on the cpu is a fallback, not a success
    expect(() => assertRunsOn(placement, 'webgpu')).toThrow(
      /no node ran on WebGpuExecutionProvider/,
    );
  });

  it('reads node events only, once per node', () => {
    const ev = (name: string, provider: string, op: string) => ({
      cat: 'Node',
      name: `${name}_kernel_time`,
      args: { provider, op_name: op },
    });
    const p = placementFromProfile([
      { cat: 'Session', name: 'model_run' },
      ev('/a/MatMul', 'WebGpuExecutionProvider', 'MatMul'),
      ev('/a/MatMul', 'WebGpuExecutionProvider', 'MatMul'),
      ev('/b/Shape', 'CPUExecutionProvider', 'Shape'),
    ]);
    expect(p).toEqual({
      nodes: { WebGpuExecutionProvider: 1, CPUExecutionProvider: 1 },
      cpuOps: ['Shape'],
    });
    assertRunsOn(p, 'webgpu');
  });
});
