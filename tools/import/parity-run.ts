// The import-time parity check's graph side (tools/import/import_parity.py): loads the freshly
// written bundle through the engine's own loader (so dllm.json is validated exactly as workers will)
// and runs its decoder graph on given sequences with onnxruntime-node, printing the reduced head.
// usage: tsx tools/import/parity-run.ts BUNDLE_DIR '[[id, ...], ...]'
import { loadModelBundle } from '../../libs/engine/src/bundle/model-bundle';
import { OrtDecoderForward } from '../../libs/engine/src/runtime/ort-decoder-forward';

async function main(): Promise<void> {
  const [dir, rowsJson] = process.argv.slice(2);
  if (!dir || !rowsJson) throw new Error('usage: parity-run.ts BUNDLE_DIR ROWS_JSON');
  const rows = JSON.parse(rowsJson) as number[][];
  const bundle = loadModelBundle(dir);
  const forward = await OrtDecoderForward.create(bundle);
  try {
    const out = [];
    for (const row of rows) {
      const r = await forward.run({
        rows: 1,
        length: row.length,
        ids: BigInt64Array.from(row, BigInt),
        attention: new BigInt64Array(row.length).fill(1n),
      });
      out.push({
        top_ids: Array.from(r.topIds!, Number),
        top_probs: Array.from(r.topProbs!),
        entropy: Array.from(r.entropy!),
        k: r.k,
      });
    }
    process.stdout.write(JSON.stringify({ provider: forward.provider, rows: out }));
  } finally {
    await forward.release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`parity-run: ${(err as Error).message}\n`);
  process.exit(1);
});
