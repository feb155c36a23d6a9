import { loadModelBundle } from '../bundle/model-bundle';
import {
  fullBatch,
  refreshBatch,
  takeCache,
  type PackedRow,
  type StepRow,
} from '../scheduler/row-cache';
import { StepBatchBuilder } from '../scheduler/step-batch-builder';
import type { ForwardResult } from './forward-pass';
import { OrtForward } from './ort-forward';

// The bundled model's refresh and step graphs against its full graph, in onnxruntime-node, through
// the same packing the scheduler uses: rows of different lengths, blocks at different places.
const bundle = loadModelBundle('models/dllm-code-small');
const g = bundle.cacheGraphs!;
const tok = bundle.tokenizer;
const stepBatch = (rows: StepRow[]) => new StepBatchBuilder(g).build(rows).batch;

const seq = (text: string, masks: number, suffix = ''): Int32Array =>
  Int32Array.from([
    ...tok.encode(text),
    ...new Array<number>(masks).fill(bundle.maskId),
    ...tok.encode(suffix),
  ]);

const probsAt = (out: ForwardResult, r: number, slot: number): number[] =>
  Array.from(
    out.topProbs!.subarray((r * out.length + slot) * out.k, (r * out.length + slot + 1) * out.k),
  );
const idsAt = (out: ForwardResult, r: number, slot: number): number[] =>
  Array.from(
    out.topIds!.subarray((r * out.length + slot) * out.k, (r * out.length + slot + 1) * out.k),
    Number,
  );

describe('cache graphs of the bundled model', () => {
  let forward: OrtForward;
  // a continuation with its block in the middle of the canvas, and an infill whose block is followed by a suffix
  const rows: PackedRow[] = [
    { ids: seq('import os\nimport sys\n\n\ndef main(argv):\n    ', 64), from: 0, to: 0 },
    { ids: seq('def add(a, b):\n    ', 24, '\n\nprint(add(1, 2))\n'), from: 0, to: 0 },
  ];
  rows[0]!.from = rows[0]!.ids.length - 64 + 16;
  rows[0]!.to = rows[0]!.from + 32;
  rows[1]!.from = tok.encode('def add(a, b):\n    ').length;
  rows[1]!.to = rows[1]!.from + 24;

  beforeAll(async () => {
    forward = await OrtForward.create(bundle);
  }, 60_000);
  afterAll(() => forward?.release());

  it('refresh gives the full graph head at the block positions', async () => {
    const full = await forward.run(
      fullBatch(
        rows.map((r) => r.ids),
        bundle.padId,
      ),
    );
    const refresh = await forward.refresh!(refreshBatch(rows, bundle.padId, g.halo));
    rows.forEach((row, r) => {
      for (let p = row.from; p < row.to; p++) {
        expect(idsAt(refresh.head, r, p - row.from)).toEqual(idsAt(full, r, p));
        probsAt(refresh.head, r, p - row.from).forEach((q, i) =>
          expect(q).toBeCloseTo(probsAt(full, r, p)[i]!, 5),
        );
      }
    });
  });

  it.each([
    ['dual', true],
    ['prefix', false],
  ] as const)(
    'a %s step on unchanged tokens reproduces the refresh it follows',
    async (mode, dual) => {
      const batch = refreshBatch(rows, bundle.padId, g.halo);
      const refresh = await forward.refresh!(batch);
      const stepRows = rows.map((row, r) => ({
        ...row,
        to: dual ? row.to : row.ids.length,
        cache: takeCache(refresh, r, batch.length, row, g),
        cached: dual ? row.ids.length : row.from,
        rightHalo: dual,
      }));
      const step = await forward.step!(stepBatch(stepRows));
      let worst = 0;
      rows.forEach((row, r) => {
        for (let p = row.from; p < row.to; p++) {
          expect(idsAt(step, r, p - row.from)[0]).toBe(idsAt(refresh.head, r, p - row.from)[0]);
          probsAt(step, r, p - row.from).forEach(
            (q, i) =>
              (worst = Math.max(worst, Math.abs(q - probsAt(refresh.head, r, p - row.from)[i]!))),
          );
        }
      });
      expect(worst).toBeLessThan(1e-4);
    },
  );

  it('a step sees the tokens committed in its block since the refresh', async () => {
    const batch = refreshBatch(rows, bundle.padId, g.halo);
    const refresh = await forward.refresh!(batch);
    const row = rows[0]!;
    const cache = takeCache(refresh, 0, batch.length, row, g);
    const changed = Int32Array.from(row.ids);
    changed.fill(tok.encode('x')[0]!, row.from, row.from + 8);
    const before = await forward.step!(
      stepBatch([{ ...row, cache, cached: row.ids.length, rightHalo: true }]),
    );
    const after = await forward.step!(
      stepBatch([{ ...row, ids: changed, cache, cached: row.ids.length, rightHalo: true }]),
    );
    expect(probsAt(after, 0, 10)).not.toEqual(probsAt(before, 0, 10));
  });
});
