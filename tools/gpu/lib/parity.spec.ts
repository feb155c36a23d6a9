import * as ort from 'onnxruntime-node';
import { loadModelBundle, type ForwardResult } from '@dllm/engine';
import { textBatch } from './inputs';
import { compareReduced, parityVerdict, PARITY_TOLERANCE } from './parity';

/** A reduced-output result from per-position [ids, probs] and entropies (k = 3). */
function result(rows: { ids: number[]; p: number[]; h: number }[][]): ForwardResult {
  const k = 3;
  const length = rows[0]!.length;
  const topIds = new BigInt64Array(rows.length * length * k);
  const topProbs = new Float32Array(rows.length * length * k);
  const entropy = new Float32Array(rows.length * length);
  rows.forEach((row, r) =>
    row.forEach((pos, p) => {
      const at = r * length + p;
      pos.ids.forEach((id, i) => (topIds[at * k + i] = BigInt(id)));
      pos.p.forEach((v, i) => (topProbs[at * k + i] = v));
      entropy[at] = pos.h;
    }),
  );
  return { rows: rows.length, length, topIds, topProbs, entropy, k, vocab: 100 };
}
const all = (n: number) => new BigInt64Array(n).fill(1n);

describe('compareReduced / parityVerdict', () => {
  const cpu = result([
    [
      { ids: [5, 6, 7], p: [0.6, 0.3, 0.1], h: 0.9 },
      { ids: [8, 9, 1], p: [0.4004, 0.4, 0.1], h: 1.1 },
    ],
  ]);

  it('identical outputs pass with zero differences', () => {
    const v = parityVerdict([compareReduced(cpu, cpu, all(2))]);
    expect(v).toMatchObject({
      positions: 2,
      top1Equal: 2,
      top1Mismatches: 0,
      maxProbDiff: 0,
      pass: true,
    });
  });

  it('a flipped near-tie is allowed and counted; probabilities are compared by id', () => {
    const gpu = result([
      [
        { ids: [5, 6, 7], p: [0.6002, 0.2999, 0.1], h: 0.9005 },
        { ids: [9, 8, 1], p: [0.4003, 0.4002, 0.1], h: 1.1 },
      ],
    ]);
    const v = parityVerdict([compareReduced(cpu, gpu, all(2))]);
    expect(v.top1NearTieFlips).toBe(1);
    expect(v.top1Mismatches).toBe(0);
    // by id: p(8) 0.4004 vs 0.4002, p(9) 0.4 vs 0.4003
    expect(v.maxProbDiff).toBeCloseTo(0.0003, 6);
    expect(v.pass).toBe(true);
  });

  it('a clear top-1 disagreement or a probability off by more than the tolerance fails', () => {
    const wrongTop = result([
      [
        { ids: [6, 5, 7], p: [0.6, 0.3, 0.1], h: 0.9 },
        { ids: [8, 9, 1], p: [0.4004, 0.4, 0.1], h: 1.1 },
      ],
    ]);
    const v1 = parityVerdict([compareReduced(cpu, wrongTop, all(2))]);
    expect(v1).toMatchObject({ top1Mismatches: 1, pass: false });
    expect(v1.examples[0]).toMatchObject({ row: 0, pos: 0, cpuTop1: '5', gpuTop1: '6' });
    const offProb = result([
      [
        { ids: [5, 6, 7], p: [0.6 + 2 * PARITY_TOLERANCE.PROB_TOL, 0.3, 0.1], h: 0.9 },
        { ids: [8, 9, 1], p: [0.4004, 0.4, 0.1], h: 1.1 },
      ],
    ]);
    expect(parityVerdict([compareReduced(cpu, offProb, all(2))]).pass).toBe(false);
    const offEntropy = result([
      [
        { ids: [5, 6, 7], p: [0.6, 0.3, 0.1], h: 0.9 + 2 * PARITY_TOLERANCE.ENTROPY_TOL },
        { ids: [8, 9, 1], p: [0.4004, 0.4, 0.1], h: 1.1 },
      ],
    ]);
    expect(parityVerdict([compareReduced(cpu, offEntropy, all(2))]).pass).toBe(false);
  });

  it('padding is not compared', () => {
    const garbage = result([
      [
        { ids: [5, 6, 7], p: [0.6, 0.3, 0.1], h: 0.9 },
        { ids: [1, 2, 3], p: [0.9, 0.05, 0.05], h: 5 },
      ],
    ]);
    const v = parityVerdict([compareReduced(cpu, garbage, new BigInt64Array([1n, 0n]))]);
    expect(v).toMatchObject({ positions: 1, pass: true });
  });

  it('nothing compared is not a pass', () => {
    expect(parityVerdict([compareReduced(cpu, cpu, new BigInt64Array(2))]).pass).toBe(false);
  });
});

describe('parity on real numerics: the bundled model, optimized vs unoptimized cpu graph', () => {
  // Graph fusion reorders float work: small real differences, like a GPU's, must sit within the tolerances.
  jest.setTimeout(60_000);
  it('differs a little and passes', async () => {
    const bundle = loadModelBundle('models/dllm-code-small');
    const ids = Array.from({ length: 8 }, (_, r) =>
      Array.from({ length: 64 }, (_, p) => 3 + ((r * 131 + p * 17) % 4000)),
    );
    const batch = textBatch(ids, {
      rows: 8,
      length: 64,
      maskId: bundle.maskId,
      padId: bundle.padId,
      ragged: true,
    });
    const run = async (level: 'disabled' | 'all'): Promise<ForwardResult> => {
      const s = await ort.InferenceSession.create(bundle.modelPath, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: level,
      });
      const dims = [batch.rows, batch.length];
      const out = await s.run(
        {
          input_ids: new ort.Tensor('int64', batch.ids, dims),
          attention_mask: new ort.Tensor('int64', batch.attention, dims),
        },
        ['top_ids', 'top_probs', 'entropy'],
      );
      await s.release();
      return {
        rows: batch.rows,
        length: batch.length,
        topIds: out.top_ids!.data as BigInt64Array,
        topProbs: out.top_probs!.data as Float32Array,
        entropy: out.entropy!.data as Float32Array,
        k: out.top_ids!.dims[2]!,
        vocab: bundle.vocabSize,
      };
    };
    const v = parityVerdict([
      compareReduced(await run('disabled'), await run('all'), batch.attention),
    ]);
    expect(v.positions).toBeGreaterThan(300);
    expect(v.maxProbDiff).toBeGreaterThan(0); // measured ~3e-6
    expect(v.maxProbDiff).toBeLessThanOrEqual(PARITY_TOLERANCE.PROB_TOL);
    expect(v.pass).toBe(true);
  });
});
