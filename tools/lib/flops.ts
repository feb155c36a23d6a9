import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `dimensions` block of a bundle's dllm.json plus the vocabulary size. */
export interface ModelDimensions {
  d_model: number;
  n_layers: number;
  n_heads: number;
  mlp_ratio: number;
  conv_kernel: number;
  vocab_size: number;
}

/**
 * Multiply-add FLOPs (2 per multiply-accumulate) of one token of one forward at sequence length L:
 *
 *   per layer:  QKV 2*3*d^2 + proj 2*d^2 + MLP 2*2*mlp*d^2 + depthwise conv 2*k*d
 *               + attention 2*2*L*d   (scores q.k over L keys, then the weighted sum of L values;
 *                                      summed over heads it is L*d MACs each, whatever n_heads is)
 *   once:       tied LM head 2*d*V
 *
 * Norms, softmaxes, GELU, rotary, biases and the top-k / entropy reduction are left out: they are
 * O(d) or O(V) per token, not matmul work, so they count as overhead against the matmul peak.
 */
export function flopsPerToken(dims: ModelDimensions, length: number): number {
  const d = dims.d_model;
  const perLayer =
    2 * 3 * d * d +
    2 * d * d +
    2 * 2 * dims.mlp_ratio * d * d +
    2 * dims.conv_kernel * d +
    2 * 2 * length * d;
  return dims.n_layers * perLayer + 2 * d * dims.vocab_size;
}

/** FLOPs of one forward over `rows` rows of `length` tokens (padding counts: it is computed). */
export function flopsPerForward(dims: ModelDimensions, rows: number, length: number): number {
  return rows * length * flopsPerToken(dims, length);
}

/** Reads d_model, n_layers, n_heads, mlp_ratio, conv_kernel and vocab_size from `<modelDir>/dllm.json`. */
export function readModelDimensions(modelDir: string): ModelDimensions {
  const path = join(modelDir, 'dllm.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as {
    vocab_size?: unknown;
    dimensions?: Record<string, unknown>;
  };
  const dims = json.dimensions ?? {};
  const field = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new Error(`${path}: ${name} must be a positive integer (got ${JSON.stringify(value)})`);
    }
    return value;
  };
  return {
    d_model: field(dims.d_model, 'dimensions.d_model'),
    n_layers: field(dims.n_layers, 'dimensions.n_layers'),
    n_heads: field(dims.n_heads, 'dimensions.n_heads'),
    mlp_ratio: field(dims.mlp_ratio, 'dimensions.mlp_ratio'),
    conv_kernel: field(dims.conv_kernel, 'dimensions.conv_kernel'),
    vocab_size: field(json.vocab_size, 'vocab_size'),
  };
}
