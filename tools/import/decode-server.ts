// The graph side of the cached-path parity tests (tools/import/tests/test_cached_parity.py): a
// long-lived process that loads bundles through the engine's own loader and answers one JSON request
// per stdin line by calling the engine's OrtDecoderForward exactly as the scheduler does:
//   {"bundle": DIR, "call": "run", "batch": ForwardBatch}          full recompute
//   {"bundle": DIR, "call": "refresh", "batch": RefreshBatch}      block refresh (presents out)
//   {"bundle": DIR, "call": "step", "batch": StepBatch}            cached step (dual / prefix)
//   {"bundle": DIR, "call": "decode", "batch": DecodeBatch}        exact-cache span (presents optional)
// Integer arrays come as JSON numbers, float arrays as numbers; pastKeys/pastValues per layer.
// Each answer is one JSON line: {head: {top_ids, top_probs, entropy, k, length}, keys?, values?}
// or {error}. One session per bundle, kept for the process's life.
// usage: tsx tools/import/decode-server.ts
import { createInterface } from 'node:readline';
import { loadModelBundle } from '../../libs/engine/src/bundle/model-bundle';
import { OrtDecoderForward } from '../../libs/engine/src/runtime/ort-decoder-forward';
import type { ForwardResult } from '../../libs/engine/src/runtime/forward-pass';

type Json = Record<string, unknown>;

const INTS = [
  'ids',
  'attention',
  'headPositions',
  'haloPositions',
  'positions',
  'queryMask',
  'pastMask',
  'headSlots',
];
const FLOATS = ['halo'];

function typed(batch: Json): Json {
  const out: Json = { ...batch };
  for (const k of INTS)
    if (Array.isArray(batch[k])) out[k] = BigInt64Array.from(batch[k] as number[], BigInt);
  for (const k of FLOATS)
    if (Array.isArray(batch[k])) out[k] = Float32Array.from(batch[k] as number[]);
  for (const k of ['pastKeys', 'pastValues'])
    if (Array.isArray(batch[k])) out[k] = (batch[k] as number[][]).map((l) => Float32Array.from(l));
  if (out.halo === undefined) out.halo = new Float32Array(0);
  if (out.haloPositions === undefined) out.haloPositions = new BigInt64Array(0);
  return out;
}

const head = (h: ForwardResult): Json => ({
  top_ids: Array.from(h.topIds!, Number),
  top_probs: Array.from(h.topProbs!),
  entropy: Array.from(h.entropy!),
  k: h.k,
  length: h.length,
});

const sessions = new Map<string, Promise<OrtDecoderForward>>();

async function answer(req: Json): Promise<Json> {
  const dir = req.bundle as string;
  if (!sessions.has(dir)) sessions.set(dir, OrtDecoderForward.create(loadModelBundle(dir)));
  const f = await sessions.get(dir)!;
  const b = typed(req.batch as Json);
  switch (req.call) {
    case 'run':
      return { head: head(await f.run(b as never)) };
    case 'refresh': {
      const r = await f.refresh(b as never);
      return { head: head(r.head), keys: Array.from(r.keys), values: Array.from(r.values) };
    }
    case 'step':
      return { head: head(await f.step(b as never)) };
    case 'decode': {
      const r = await f.decode(b as never);
      return {
        head: head(r.head),
        ...(r.presentKeys
          ? { keys: Array.from(r.presentKeys), values: Array.from(r.presentValues!) }
          : {}),
      };
    }
    default:
      throw new Error(`unknown call ${String(req.call)}`);
  }
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let out: Json;
    try {
      out = await answer(JSON.parse(line) as Json);
    } catch (err) {
      out = { error: (err as Error).message };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  for (const s of sessions.values()) await (await s).release();
}

main().catch((err: unknown) => {
  process.stderr.write(`decode-server: ${(err as Error).message}\n`);
  process.exit(1);
});
