import * as ort from 'onnxruntime-node';
import type { ModelBundle } from '../bundle/model-bundle';
import { createSession, type ProviderSession } from './execution-providers';
import type { ForwardBatch, ForwardPass, ForwardResult } from './forward-pass';

export interface OrtForwardOptions {
  /** tried in order, e.g. ['webgpu', 'cuda', 'cpu']; cpu is the last resort unless requireGpu */
  executionProviders?: string[];
  /** no GPU provider works: fail instead of running on cpu */
  requireGpu?: boolean;
  /** 0 = onnxruntime's default */
  intraOpThreads?: number;
  onWarning?: (message: string) => void;
}

/**
 * onnxruntime-node session for a bundle. `run` blocks the calling JS thread for the whole forward,
 * so the engine calls it from its own worker thread (see engine-thread.ts), never the main one.
 */
export class OrtForward implements ForwardPass {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly bundle: ModelBundle,
    /** which provider runs the graph, which were asked for, why others failed */
    readonly providerInfo: Omit<ProviderSession, 'session'>,
    private readonly fetches: string[],
  ) {}

  get provider(): string {
    return this.providerInfo.provider;
  }

  static async create(bundle: ModelBundle, opts: OrtForwardOptions = {}): Promise<OrtForward> {
    const { session, ...info } = await createSession(bundle.modelPath, {
      providers: opts.executionProviders ?? ['cpu'],
      requireGpu: opts.requireGpu,
      intraOpThreads: opts.intraOpThreads,
      onWarning: opts.onWarning,
      // a GPU session is checked to run its nodes on the GPU, with one tiny forward
      probe: async (s) => {
        const ids = new BigInt64Array(8).fill(BigInt(bundle.maskId));
        const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [1, 8]) };
        if (bundle.hasAttentionMask) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(8).fill(1n), [1, 8]);
        await s.run(feeds);
      },
    });
    return new OrtForward(session, bundle, info, OrtForward.checkOutputs(session, bundle));
  }

  private static checkOutputs(session: ort.InferenceSession, bundle: ModelBundle): string[] {
    const want = bundle.reducedOutputs ? ['top_ids', 'top_probs', 'entropy'] : ['logits'];
    const missing = want.filter((n) => !session.outputNames.includes(n));
    if (missing.length) throw new Error(`${bundle.modelPath}: graph lacks output(s) ${missing.join(', ')} named in dllm.json`);
    if (!session.inputNames.includes('input_ids')) throw new Error(`${bundle.modelPath}: graph has no input named input_ids`);
    return want;
  }

  async run(batch: ForwardBatch): Promise<ForwardResult> {
    const dims = [batch.rows, batch.length];
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', batch.ids, dims) };
    if (this.bundle.hasAttentionMask) feeds.attention_mask = new ort.Tensor('int64', batch.attention, dims);
    const out = await this.session.run(feeds, this.fetches);
    if (this.bundle.reducedOutputs) {
      const topIds = out.top_ids!;
      return {
        rows: batch.rows,
        length: batch.length,
        topIds: topIds.data as BigInt64Array,
        topProbs: out.top_probs!.data as Float32Array,
        entropy: out.entropy!.data as Float32Array,
        k: topIds.dims[2]!,
        vocab: this.bundle.vocabSize,
      };
    }
    const logits = out.logits!;
    return { rows: batch.rows, length: batch.length, logits: logits.data as Float32Array, vocab: logits.dims[2]!, k: 0 };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
