import type { AttentionTopology, ModelBundle } from '../bundle/model-bundle';
import { DecoderForward } from '../runtime/decoder-forward';
import type { DecodeBatch, DecodeResult } from '../runtime/forward-pass';
import { fakeBundle } from './fake-forward';

/** A format-3 (decoder graph) bundle over the bundled tokenizer, its cache shaped for FakeDecoderForward. */
export function fakeDecoderBundle(overrides: Partial<ModelBundle> = {}): ModelBundle {
  return fakeBundle({
    format: 3,
    graphLayout: 'decoder',
    name: 'fake-decoder',
    cacheGraphs: {
      refreshPath: 'unused.onnx',
      stepPath: 'unused.onnx',
      layers: 2,
      heads: 1,
      headDim: 1,
      dModel: 1,
      halo: 0,
      floatsPerPosition: 2,
    },
    ...overrides,
  });
}

const M = 1_000_003;
const mix = (h: number, v: number): number => (h * 31 + v) % M;

export interface FakeDecoderOptions {
  /** outputs whose hash is a multiple of this propose EOS first (0: never) */
  eosEvery?: number;
  eosId?: number;
}

/**
 * A two-layer "model" with the decoder graph's exact semantics (tools/import/spec.py), computed on
 * integers so that any difference in what a position sees shows: layer 0's key/value at a position
 * is its token and position; layer 1's is a hash of the (position, layer-0 key) pairs it attends to;
 * the output at a slot is a hash of the (position, layer-1 key) pairs it attends to. Past slot c is
 * position c (every cache the engine builds holds positions in order). So a stale cached entry, one
 * counted twice, a wrong mask or a wrong topology changes the outputs, as it would in a real model.
 * Values are keys; a past value that differs from its key (a misplaced copy) throws.
 */
export class FakeDecoderForward extends DecoderForward {
  readonly provider = 'fake';
  /** per call: rows, span, head slots, and the most past positions any row attended to */
  readonly calls: Array<{ rows: number; span: number; heads: number; past: number }> = [];

  constructor(
    private readonly topology: AttentionTopology,
    private readonly opts: FakeDecoderOptions = {},
  ) {
    super({ layers: 2, heads: 1, headDim: 1 });
  }

  private sees(q: number, s: number): boolean {
    if (this.topology.type === 'bidirectional') return true;
    if (this.topology.type === 'causal') return s <= q;
    const bs = this.topology.blockSize!;
    return Math.floor(s / bs) <= Math.floor(q / bs);
  }

  decode(b: DecodeBatch): Promise<DecodeResult> {
    let longestPast = 0;
    for (let r = 0; r < b.rows; r++) {
      let n = 0;
      for (let c = 0; c < b.cached; c++) if (b.pastMask[r * b.cached + c] === 1n) n++;
      longestPast = Math.max(longestPast, n);
    }
    this.calls.push({ rows: b.rows, span: b.span, heads: b.headLength, past: longestPast });
    const k = 4;
    const topIds = new BigInt64Array(b.rows * b.headLength * k);
    const topProbs = new Float32Array(b.rows * b.headLength * k);
    const entropy = new Float32Array(b.rows * b.headLength);
    const presentKeys = new Float32Array(b.rows * 2 * b.span);
    for (let r = 0; r < b.rows; r++) {
      const past: Array<{ pos: number; k0: number; k1: number }> = [];
      for (let c = 0; c < b.cached; c++) {
        if (b.pastMask[r * b.cached + c] !== 1n) continue;
        const at = r * b.cached + c;
        const k0 = b.pastKeys[0]![at]!;
        const k1 = b.pastKeys[1]![at]!;
        if (b.pastValues[0]![at] !== k0 || b.pastValues[1]![at] !== k1)
          throw new Error(`fake decoder: past value != key at row ${r} slot ${c}`);
        past.push({ pos: c, k0, k1 });
      }
      const span: Array<{ slot: number; pos: number; k0: number; k1: number }> = [];
      for (let i = 0; i < b.span; i++) {
        if (b.queryMask[r * b.span + i] !== 1n) continue;
        const pos = Number(b.positions[r * b.span + i]);
        span.push({ slot: i, pos, k0: Number(b.ids[r * b.span + i]) * 1024 + pos, k1: 0 });
      }
      const visible = (pos: number) =>
        [...past, ...span.filter((s) => this.sees(pos, s.pos))].sort((x, y) => x.pos - y.pos);
      for (const s of span) s.k1 = visible(s.pos).reduce((h, v) => mix(mix(h, v.pos), v.k0), 7);
      for (const s of span) {
        presentKeys[(r * 2 + 0) * b.span + s.slot] = s.k0;
        presentKeys[(r * 2 + 1) * b.span + s.slot] = s.k1;
      }
      for (let i = 0; i < b.headLength; i++) {
        const slot = Number(b.headSlots[r * b.headLength + i]);
        const s = span.find((x) => x.slot === slot);
        const at = r * b.headLength + i;
        if (!s) continue; // a padding slot: never read
        const h = visible(s.pos).reduce((acc, v) => mix(mix(acc, v.pos), v.k1), 11);
        const first = 3 + (h % 4000);
        const p0 = 0.35 + (0.6 * (Math.floor(h / 7) % 1000)) / 1000;
        const probs = [p0, (1 - p0) * 0.5, (1 - p0) * 0.3, (1 - p0) * 0.2];
        const every = this.opts.eosEvery ?? 0;
        const ids = [first, first + 1, first + 2, first + 3];
        if (every > 0 && h % every === 0) ids[0] = this.opts.eosId ?? 1;
        for (let j = 0; j < k; j++) {
          topIds[at * k + j] = BigInt(ids[j]!);
          topProbs[at * k + j] = probs[j]!;
        }
        entropy[at] = 2 * (1 - p0);
      }
    }
    return Promise.resolve({
      head: {
        rows: b.rows,
        length: b.headLength,
        topIds,
        topProbs,
        entropy,
        k,
        vocab: 4096,
      },
      ...(b.presents ? { presentKeys, presentValues: presentKeys.slice() } : {}),
    });
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}
