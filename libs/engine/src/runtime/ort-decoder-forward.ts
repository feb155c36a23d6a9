import * as ort from 'onnxruntime-node';
import type { ModelBundle } from '../bundle/model-bundle';
import { DECODER_OUTPUTS } from '../bundle/dllm-json';
import { DecoderForward } from './decoder-forward';
import { createSession, type ProviderSession } from './execution-providers';
import type { DecodeBatch, DecodeResult, ForwardResult } from './forward-pass';
import type { OrtForwardOptions } from './ort-forward';

const HEAD = ['top_ids', 'top_probs', 'entropy'];
const PRESENTS = ['present_keys', 'present_values'];

/**
 * A format-3 bundle's one decoder graph in ONE onnxruntime session: full recompute, block refreshes,
 * cached steps and exact-cache spans are four ways of feeding it, so the weights are loaded once.
 * Inputs and outputs are checked by name against the session's own lists at creation.
 */
export class OrtDecoderForward extends DecoderForward {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly bundle: ModelBundle,
    readonly providerInfo: Omit<ProviderSession, 'session'>,
  ) {
    const g = bundle.cacheGraphs!;
    super({ layers: g.layers, heads: g.heads, headDim: g.headDim });
  }

  get provider(): string {
    return this.providerInfo.provider;
  }

  static async create(
    bundle: ModelBundle,
    opts: OrtForwardOptions = {},
  ): Promise<OrtDecoderForward> {
    const g = bundle.cacheGraphs;
    if (bundle.graphLayout !== 'decoder' || !g)
      throw new Error(`${bundle.dir}: not a decoder-graph bundle (dllm.json format 3)`);
    const { session, ...info } = await createSession(bundle.modelPath, {
      providers: opts.executionProviders ?? ['cpu'],
      requireGpu: opts.requireGpu,
      intraOpThreads: opts.intraOpThreads,
      intraOpSpinning: opts.intraOpSpinning,
      onWarning: opts.onWarning,
      // a GPU session is checked to run its nodes on the GPU, with one tiny forward
      probe: async (s) => {
        const probe = new OrtDecoderForward(s, bundle, {} as Omit<ProviderSession, 'session'>);
        await probe.run({
          rows: 1,
          length: 4,
          ids: new BigInt64Array(4).fill(BigInt(bundle.maskId)),
          attention: new BigInt64Array(4).fill(1n),
        });
      },
    });
    try {
      OrtDecoderForward.checkNames(session, bundle);
      return new OrtDecoderForward(session, bundle, info);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  private static checkNames(s: ort.InferenceSession, bundle: ModelBundle): void {
    const layers = bundle.cacheGraphs!.layers;
    const inputs = [
      'input_ids',
      'positions',
      'query_mask',
      'past_mask',
      'head_positions',
      ...Array.from({ length: layers }, (_, l) => [`past_keys_${l}`, `past_values_${l}`]).flat(),
    ];
    const missing = [
      ...inputs.filter((n) => !s.inputNames.includes(n)).map((n) => `input ${n}`),
      ...DECODER_OUTPUTS.filter((n) => !s.outputNames.includes(n)).map((n) => `output ${n}`),
    ];
    if (missing.length)
      throw new Error(`${bundle.modelPath}: decoder graph lacks ${missing.join(', ')}`);
    const extra = s.inputNames.filter((n) => !inputs.includes(n));
    if (extra.length)
      throw new Error(
        `${bundle.modelPath}: decoder graph has input(s) the engine does not feed: ${extra.join(', ')} ` +
          `(dllm.json cache.layers is ${layers})`,
      );
  }

  async decode(b: DecodeBatch): Promise<DecodeResult> {
    const { layers, heads, headDim } = this.shape;
    const pastDims = [b.rows, heads, b.cached, headDim];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', b.ids, [b.rows, b.span]),
      positions: new ort.Tensor('int64', b.positions, [b.rows, b.span]),
      query_mask: new ort.Tensor('int64', b.queryMask, [b.rows, b.span]),
      past_mask: new ort.Tensor('int64', b.pastMask, [b.rows, b.cached]),
      head_positions: new ort.Tensor('int64', b.headSlots, [b.rows, b.headLength]),
    };
    for (let l = 0; l < layers; l++) {
      feeds[`past_keys_${l}`] = new ort.Tensor('float32', b.pastKeys[l]!, pastDims);
      feeds[`past_values_${l}`] = new ort.Tensor('float32', b.pastValues[l]!, pastDims);
    }
    const out = await this.session.run(feeds, b.presents ? [...HEAD, ...PRESENTS] : HEAD);
    const topIds = out.top_ids!;
    const head: ForwardResult = {
      rows: b.rows,
      length: b.headLength,
      topIds: topIds.data as BigInt64Array,
      topProbs: out.top_probs!.data as Float32Array,
      entropy: out.entropy!.data as Float32Array,
      k: topIds.dims[2]!,
      vocab: this.bundle.vocabSize,
    };
    if (!b.presents) return { head };
    return {
      head,
      presentKeys: out.present_keys!.data as Float32Array,
      presentValues: out.present_values!.data as Float32Array,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
