import type { CacheGraphs, ModelBundle } from '../bundle/model-bundle';
import type {
  ForwardBatch,
  ForwardResult,
  RefreshBatch,
  RefreshResult,
  StepBatch,
} from '../runtime/forward-pass';
import { FakeForward, fakeBundle, type FakePrediction } from './fake-forward';

/** One "key" per position holding the token id itself: a step then sees exactly what was cached. */
export const FAKE_CACHE_GRAPHS: CacheGraphs = {
  refreshPath: 'unused-refresh.onnx',
  stepPath: 'unused-step.onnx',
  layers: 1,
  heads: 1,
  headDim: 1,
  dModel: 1,
  halo: 0,
  floatsPerPosition: 1,
};

export function fakeCachedBundle(overrides: Partial<ModelBundle> = {}): ModelBundle {
  return fakeBundle({ cacheGraphs: FAKE_CACHE_GRAPHS, ...overrides });
}

/**
 * FakeForward plus refresh and step with the semantics of the real cache: a step predicts from the
 * tokens as they were at the last refresh, except its own span, which it sees as they are now.
 * Cached positions a step may not attend to read as mask tokens. Records every call by graph.
 */
export class FakeCachedForward extends FakeForward {
  readonly graphCalls: Array<{ graph: 'full' | 'refresh' | 'step'; rows: number }> = [];

  constructor(
    predict: FakePrediction,
    private readonly maskId = 2,
  ) {
    super(predict);
  }

  override async run(b: ForwardBatch): Promise<ForwardResult> {
    this.graphCalls.push({ graph: 'full', rows: b.rows });
    return super.run(b);
  }

  async refresh(b: RefreshBatch): Promise<RefreshResult> {
    this.graphCalls.push({ graph: 'refresh', rows: b.rows });
    const all = await super.run(b);
    const head = this.gather(all, b.rows, b.headLength, (r, i) =>
      Number(b.headPositions[r * b.headLength + i]),
    );
    const keys = Float32Array.from(b.ids, Number);
    return { head, keys, values: keys.slice(), halo: new Float32Array(0) };
  }

  async step(b: StepBatch): Promise<ForwardResult> {
    this.graphCalls.push({ graph: 'step', rows: b.rows });
    // rebuild each row as the model would see it: cached tokens, then the span on top
    const seqs: number[][] = [];
    for (let r = 0; r < b.rows; r++) {
      const seq: number[] = [];
      for (let p = 0; p < b.cached; p++)
        seq[p] =
          b.pastMask[r * b.cached + p] === 1n ? b.pastKeys[0]![r * b.cached + p]! : this.maskId;
      for (let i = 0; i < b.span; i++)
        if (b.queryMask[r * b.span + i] === 1n)
          seq[Number(b.positions[r * b.span + i])] = Number(b.ids[r * b.span + i]);
      for (let p = 0; p < seq.length; p++) seq[p] ??= this.maskId;
      seqs.push(seq);
    }
    const length = Math.max(...seqs.map((s) => s.length));
    const ids = new BigInt64Array(b.rows * length);
    const attention = new BigInt64Array(b.rows * length);
    seqs.forEach((s, r) =>
      s.forEach((t, p) => ((ids[r * length + p] = BigInt(t)), (attention[r * length + p] = 1n))),
    );
    const calls = this.calls.length;
    const all = await super.run({ rows: b.rows, length, ids, attention });
    this.calls.length = calls; // recorded as a step above, not as a full forward
    return this.gather(all, b.rows, b.span, (r, i) => Number(b.positions[r * b.span + i]));
  }

  private gather(
    all: ForwardResult,
    rows: number,
    length: number,
    position: (r: number, i: number) => number,
  ): ForwardResult {
    const k = all.k;
    const topIds = new BigInt64Array(rows * length * k);
    const topProbs = new Float32Array(rows * length * k);
    const entropy = new Float32Array(rows * length);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < length; i++) {
        const from = r * all.length + position(r, i);
        topIds.set(all.topIds!.subarray(from * k, (from + 1) * k), (r * length + i) * k);
        topProbs.set(all.topProbs!.subarray(from * k, (from + 1) * k), (r * length + i) * k);
        entropy[r * length + i] = all.entropy![from]!;
      }
    }
    return { rows, length, topIds, topProbs, entropy, k, vocab: all.vocab };
  }
}
