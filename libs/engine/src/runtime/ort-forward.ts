import * as ort from 'onnxruntime-node';
import type { ModelBundle } from '../bundle/model-bundle';
import type { ForwardBatch, ForwardPass, ForwardResult } from './forward-pass';

export interface OrtForwardOptions {
  /** tried in order, e.g. ['cuda', 'cpu']; cpu is always the last resort */
  executionProviders?: string[];
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
    readonly provider: string,
    private readonly fetches: string[],
  ) {}

  static async create(bundle: ModelBundle, opts: OrtForwardOptions = {}): Promise<OrtForward> {
    const warn = opts.onWarning ?? ((m: string) => console.warn(m));
    const requested = (opts.executionProviders ?? ['cpu']).map((p) => p.toLowerCase());
    const attempts = [...requested.filter((p) => p !== 'cpu'), 'cpu'];
    let lastError: unknown;
    for (const provider of attempts) {
      try {
        const options: ort.InferenceSession.SessionOptions = {
          executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
          graphOptimizationLevel: 'all',
        };
        if (opts.intraOpThreads) options.intraOpNumThreads = opts.intraOpThreads;
        const session = await ort.InferenceSession.create(bundle.modelPath, options);
        if (provider === 'cpu' && requested[0] !== 'cpu') {
          warn(`execution providers ${requested.join(',')} unavailable; running on cpu`);
        }
        return new OrtForward(session, bundle, provider, OrtForward.checkOutputs(session, bundle));
      } catch (err) {
        lastError = err;
        if (provider !== 'cpu') warn(`execution provider ${provider} unavailable (${(err as Error).message.split('\n')[0]}); trying the next`);
      }
    }
    throw new Error(`${bundle.modelPath}: cannot create an onnxruntime session: ${(lastError as Error).message}`, { cause: lastError });
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
