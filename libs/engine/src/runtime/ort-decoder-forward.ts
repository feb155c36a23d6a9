import * as ort from 'onnxruntime-node';
import type { ModelBundle } from '../bundle/model-bundle';
import { DECODER_OUTPUTS } from '../bundle/dllm-json';
import { DecoderForward } from './decoder-forward';
import type { ProviderSession } from './execution-providers';
import type { DecodeBatch, DecodeResult } from './forward-pass';
import {
  missingNames,
  openSession,
  orRelease,
  pastInputNames,
  REDUCED_OUTPUTS as HEAD,
  reducedHead,
  spanFeeds,
  type OrtForwardOptions,
} from './ort-session';

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
    const { session, ...info } = await openSession(bundle.modelPath, opts, async (s) => {
      const probe = new OrtDecoderForward(s, bundle, {} as Omit<ProviderSession, 'session'>);
      await probe.run({
        rows: 1,
        length: 4,
        ids: new BigInt64Array(4).fill(BigInt(bundle.maskId)),
        attention: new BigInt64Array(4).fill(1n),
      });
    });
    return orRelease(session, () => {
      OrtDecoderForward.checkNames(session, bundle);
      return new OrtDecoderForward(session, bundle, info);
    });
  }

  private static checkNames(s: ort.InferenceSession, bundle: ModelBundle): void {
    const layers = bundle.cacheGraphs!.layers;
    const inputs = [
      'input_ids',
      'positions',
      'query_mask',
      'past_mask',
      'head_positions',
      ...pastInputNames(layers),
    ];
    const missing = missingNames(s, inputs, DECODER_OUTPUTS);
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
    const feeds = spanFeeds(b, this.shape);
    feeds.head_positions = new ort.Tensor('int64', b.headSlots, [b.rows, b.headLength]);
    const out = await this.session.run(feeds, b.presents ? [...HEAD, ...PRESENTS] : HEAD);
    const head = reducedHead(out, b.rows, b.headLength, this.bundle.vocabSize);
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
