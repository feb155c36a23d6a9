/**
 * What the onnxruntime forwards (ort-forward.ts: format-2 graphs; ort-decoder-forward.ts: the
 * format-3 decoder graph) share: opening a session on the providers asked for, checking a graph's
 * names, feeding a span against a past, and reading the reduced head.
 */
import * as ort from 'onnxruntime-node';
import { createSession, type ProviderSession } from './execution-providers';
import type { ForwardResult, SpanBatch } from './forward-pass';

export interface OrtForwardOptions {
  /** tried in order, e.g. ['webgpu', 'cuda', 'cpu']; cpu is the last resort unless requireGpu */
  executionProviders?: string[];
  /** no GPU provider works: fail instead of running on cpu */
  requireGpu?: boolean;
  /** 0 = onnxruntime's default */
  intraOpThreads?: number;
  /** idle intra-op threads spin (onnxruntime's default when unset); see CreateSessionOptions */
  intraOpSpinning?: boolean;
  onWarning?: (message: string) => void;
}

/** The reduced head's outputs. */
export const REDUCED_OUTPUTS = ['top_ids', 'top_probs', 'entropy'];

/**
 * A session for `modelPath` on the first provider of `opts` that works; a GPU session is checked
 * to run its nodes on the GPU with `probe`, one tiny forward.
 */
export function openSession(
  modelPath: string,
  opts: OrtForwardOptions,
  probe: (s: ort.InferenceSession) => Promise<void>,
): Promise<ProviderSession> {
  return createSession(modelPath, {
    providers: opts.executionProviders ?? ['cpu'],
    requireGpu: opts.requireGpu,
    intraOpThreads: opts.intraOpThreads,
    intraOpSpinning: opts.intraOpSpinning,
    onWarning: opts.onWarning,
    probe,
  });
}

/** Builds what needs `session`, releasing the session if that fails. */
export async function orRelease<T>(session: ort.InferenceSession, build: () => T): Promise<T> {
  try {
    return await build();
  } catch (err) {
    await session.release();
    throw err;
  }
}

/** The names a graph lacks of `inputs` and `outputs`, as "input x" / "output y". */
export function missingNames(
  s: ort.InferenceSession,
  inputs: readonly string[],
  outputs: readonly string[],
): string[] {
  return [
    ...inputs.filter((n) => !s.inputNames.includes(n)).map((n) => `input ${n}`),
    ...outputs.filter((n) => !s.outputNames.includes(n)).map((n) => `output ${n}`),
  ];
}

/** The past inputs of a span graph: past_keys_l and past_values_l for every layer. */
export function pastInputNames(layers: number): string[] {
  return Array.from({ length: layers }, (_, l) => [`past_keys_${l}`, `past_values_${l}`]).flat();
}

/** Feeds of a span against a past: ids, positions, query and past masks, per-layer past keys/values. */
export function spanFeeds(
  b: SpanBatch,
  shape: { layers: number; heads: number; headDim: number },
): Record<string, ort.Tensor> {
  const pastDims = [b.rows, shape.heads, b.cached, shape.headDim];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', b.ids, [b.rows, b.span]),
    positions: new ort.Tensor('int64', b.positions, [b.rows, b.span]),
    query_mask: new ort.Tensor('int64', b.queryMask, [b.rows, b.span]),
    past_mask: new ort.Tensor('int64', b.pastMask, [b.rows, b.cached]),
  };
  for (let l = 0; l < shape.layers; l++) {
    feeds[`past_keys_${l}`] = new ort.Tensor('float32', b.pastKeys[l]!, pastDims);
    feeds[`past_values_${l}`] = new ort.Tensor('float32', b.pastValues[l]!, pastDims);
  }
  return feeds;
}

/** The reduced head (top_ids, top_probs, entropy) of `rows` x `length` positions. */
export function reducedHead(
  out: ort.InferenceSession.ReturnType,
  rows: number,
  length: number,
  vocab: number,
): ForwardResult {
  const topIds = out.top_ids!;
  return {
    rows,
    length,
    topIds: topIds.data as BigInt64Array,
    topProbs: out.top_probs!.data as Float32Array,
    entropy: out.entropy!.data as Float32Array,
    k: topIds.dims[2]!,
    vocab,
  };
}
