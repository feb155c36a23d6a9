import * as ort from 'onnxruntime-node';
import type { ModelBundle } from '../bundle/model-bundle';
import { createSession, type ProviderSession } from './execution-providers';
import {
  missingNames,
  openSession,
  orRelease,
  pastInputNames,
  REDUCED_OUTPUTS as REDUCED,
  reducedHead,
  spanFeeds,
  type OrtForwardOptions,
} from './ort-session';
import type {
  ForwardBatch,
  ForwardPass,
  ForwardResult,
  RefreshBatch,
  RefreshResult,
  StepBatch,
} from './forward-pass';

export type { OrtForwardOptions } from './ort-session';

interface CacheSessions {
  refresh: ort.InferenceSession;
  step: ort.InferenceSession;
}

/**
 * onnxruntime-node sessions for a bundle: the full graph, plus the refresh and step graphs of cached
 * block decoding when the bundle has them. `run` blocks the calling JS thread for the whole forward,
 * so the engine calls it from its own worker thread (see engine-thread.ts), never the main one.
 */
export class OrtForward implements ForwardPass {
  readonly refresh?: (batch: RefreshBatch) => Promise<RefreshResult>;
  readonly step?: (batch: StepBatch) => Promise<ForwardResult>;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly bundle: ModelBundle,
    /** which provider runs the graph, which were asked for, why others failed */
    readonly providerInfo: Omit<ProviderSession, 'session'>,
    private readonly fetches: string[],
    private readonly cache?: CacheSessions,
  ) {
    if (cache) {
      this.refresh = (b) => this.runRefresh(cache.refresh, b);
      this.step = (b) => this.runStep(cache.step, b);
    }
  }

  get provider(): string {
    return this.providerInfo.provider;
  }

  static async create(bundle: ModelBundle, opts: OrtForwardOptions = {}): Promise<OrtForward> {
    const { session, ...info } = await openSession(bundle.modelPath, opts, async (s) => {
      const ids = new BigInt64Array(8).fill(BigInt(bundle.maskId));
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', ids, [1, 8]),
      };
      if (bundle.hasAttentionMask)
        feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(8).fill(1n), [1, 8]);
      await s.run(feeds);
    });
    return orRelease(session, async () => {
      const fetches = OrtForward.checkOutputs(session, bundle);
      // the cache graphs run on the provider the full graph got, or not at all
      const same = {
        providers: [info.provider],
        requireGpu: info.provider !== 'cpu',
        intraOpThreads: opts.intraOpThreads,
        intraOpSpinning: opts.intraOpSpinning,
        onWarning: opts.onWarning,
      };
      const cache = bundle.cacheGraphs
        ? OrtForward.checkCacheGraphs(
            {
              refresh: (await createSession(bundle.cacheGraphs.refreshPath, same)).session,
              step: (await createSession(bundle.cacheGraphs.stepPath, same)).session,
            },
            bundle,
          )
        : undefined;
      return new OrtForward(session, bundle, info, fetches, cache);
    });
  }

  private static checkOutputs(session: ort.InferenceSession, bundle: ModelBundle): string[] {
    const want = bundle.reducedOutputs ? REDUCED : ['logits'];
    const missing = want.filter((n) => !session.outputNames.includes(n));
    if (missing.length)
      throw new Error(
        `${bundle.modelPath}: graph lacks output(s) ${missing.join(', ')} named in dllm.json`,
      );
    if (!session.inputNames.includes('input_ids'))
      throw new Error(`${bundle.modelPath}: graph has no input named input_ids`);
    return want;
  }

  private static checkCacheGraphs(c: CacheSessions, bundle: ModelBundle): CacheSessions {
    const want = {
      refresh: {
        inputs: ['input_ids', 'attention_mask', 'head_positions', 'halo_positions'],
        outputs: [...REDUCED, 'keys', 'values', 'halo'],
      },
      step: {
        inputs: [
          'input_ids',
          'positions',
          'query_mask',
          'past_mask',
          'halo',
          ...pastInputNames(bundle.cacheGraphs!.layers),
        ],
        outputs: REDUCED,
      },
    };
    for (const graph of ['refresh', 'step'] as const) {
      const s = c[graph];
      const missing = missingNames(s, want[graph].inputs, want[graph].outputs);
      if (missing.length)
        throw new Error(`${bundle.dir}: ${graph} graph lacks ${missing.join(', ')}`);
    }
    return c;
  }

  private async runRefresh(session: ort.InferenceSession, b: RefreshBatch): Promise<RefreshResult> {
    const g = this.bundle.cacheGraphs!;
    const out = await session.run({
      input_ids: new ort.Tensor('int64', b.ids, [b.rows, b.length]),
      attention_mask: new ort.Tensor('int64', b.attention, [b.rows, b.length]),
      head_positions: new ort.Tensor('int64', b.headPositions, [b.rows, b.headLength]),
      halo_positions: new ort.Tensor('int64', b.haloPositions, [b.rows, 2 * g.halo]),
    });
    return {
      head: reducedHead(out, b.rows, b.headLength, this.bundle.vocabSize),
      keys: out.keys!.data as Float32Array,
      values: out.values!.data as Float32Array,
      halo: out.halo!.data as Float32Array,
    };
  }

  private async runStep(session: ort.InferenceSession, b: StepBatch): Promise<ForwardResult> {
    const g = this.bundle.cacheGraphs!;
    const feeds = spanFeeds(b, g);
    feeds.halo = new ort.Tensor('float32', b.halo, [b.rows, g.layers, 2 * g.halo, g.dModel]);
    const out = await session.run(feeds, REDUCED);
    return reducedHead(out, b.rows, b.span, this.bundle.vocabSize);
  }

  async run(batch: ForwardBatch): Promise<ForwardResult> {
    const dims = [batch.rows, batch.length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.ids, dims),
    };
    if (this.bundle.hasAttentionMask)
      feeds.attention_mask = new ort.Tensor('int64', batch.attention, dims);
    const out = await this.session.run(feeds, this.fetches);
    if (this.bundle.reducedOutputs)
      return reducedHead(out, batch.rows, batch.length, this.bundle.vocabSize);
    const logits = out.logits!;
    return {
      rows: batch.rows,
      length: batch.length,
      logits: logits.data as Float32Array,
      vocab: logits.dims[2]!,
      k: 0,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.cache?.refresh.release();
    await this.cache?.step.release();
  }
}
