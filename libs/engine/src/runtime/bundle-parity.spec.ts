import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';

// PyTorch wrote parity.json at export time: fixed inputs (one padded row, one fully padded row) and
// its outputs. onnxruntime-node must reproduce them. DLLM_BUNDLE points the check at another bundle
// (the trainer smoke uses it).
const bundle = resolve(process.env.DLLM_BUNDLE ?? 'models/dllm-code-small');

interface Fixture {
  input_ids: number[][];
  attention_mask: number[][];
  top_ids: number[][][];
  top_probs: number[][][];
  entropy: number[][];
  logits_first_row_pos_10: number[];
}

const int64 = (rows: number[][]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
    rows.length,
    rows[0]!.length,
  ]);

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe(`model bundle ${bundle}`, () => {
  let session: ort.InferenceSession;
  let fx: Fixture;

  beforeAll(async () => {
    expect(existsSync(join(bundle, 'model.onnx'))).toBe(true);
    fx = JSON.parse(readFileSync(join(bundle, 'parity.json'), 'utf8')) as Fixture;
    session = await ort.InferenceSession.create(join(bundle, 'model.onnx'));
  });

  afterAll(async () => {
    await session?.release();
  });

  it('declares the inputs and outputs dllm.json names', () => {
    const dllm = JSON.parse(readFileSync(join(bundle, 'dllm.json'), 'utf8')) as {
      outputs: Record<string, string>;
    };
    expect([...session.inputNames].sort()).toEqual(['attention_mask', 'input_ids']);
    expect([...session.outputNames].sort()).toEqual(Object.keys(dllm.outputs).sort());
  });

  it('matches PyTorch on the same inputs, padded rows included, with no NaN', async () => {
    const out = await session.run({
      input_ids: int64(fx.input_ids),
      attention_mask: int64(fx.attention_mask),
    });
    const [B, L] = [fx.input_ids.length, fx.input_ids[0]!.length];
    const V = out.logits!.dims[2]!;
    expect(out.logits!.dims).toEqual([B, L, V]);
    const logits = out.logits!.data as Float32Array;
    expect(maxAbsDiff(logits.subarray(10 * V, 11 * V), fx.logits_first_row_pos_10)).toBeLessThan(
      1e-3,
    );
    expect(maxAbsDiff(out.entropy!.data as Float32Array, fx.entropy.flat())).toBeLessThan(1e-3);
    expect(maxAbsDiff(out.top_probs!.data as Float32Array, fx.top_probs.flat(2))).toBeLessThan(
      1e-4,
    );
    // Top-1 ids must agree where PyTorch's top-1 is not a near tie.
    const ids = out.top_ids!.data as BigInt64Array;
    const K = out.top_ids!.dims[2]!;
    fx.top_ids.flat().forEach((row, pos) => {
      const probs = fx.top_probs.flat()[pos]!;
      if (probs[0]! - probs[1]! > 1e-3) expect(Number(ids[pos * K])).toBe(row[0]);
    });
    expect((out.entropy!.data as Float32Array).some(Number.isNaN)).toBe(false);
  });

  it('uses context: changing a neighbour moves the prediction at a masked position', async () => {
    const row = [...fx.input_ids[0]!];
    const run = async (ids: number[]): Promise<Float32Array> => {
      const out = await session.run(
        { input_ids: int64([ids]), attention_mask: int64([ids.map(() => 1)]) },
        ['top_probs', 'entropy'],
      );
      return out.entropy!.data as Float32Array;
    };
    const before = await run(row);
    const changed = [...row];
    changed[9] = changed[9] === 100 ? 101 : 100; // position 10 is masked; its left neighbour changes
    const after = await run(changed);
    expect(Math.abs(before[10]! - after[10]!)).toBeGreaterThan(1e-4);
  });
});
