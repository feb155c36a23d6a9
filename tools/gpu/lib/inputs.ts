import type { ForwardBatch } from '@dllm/engine';

/**
 * Forward batches like the engine's mid-generation: real text (`tokens[r]`, at least `length`
 * ids), the second half partly masked; with `ragged`, rows get different lengths and are
 * right-padded, so the attention mask matters.
 */
export function textBatch(
  tokens: readonly number[][],
  opts: { rows: number; length: number; maskId: number; padId: number; ragged: boolean },
): ForwardBatch {
  const { rows, length, maskId, padId, ragged } = opts;
  const ids = new BigInt64Array(rows * length);
  const attention = new BigInt64Array(rows * length);
  for (let r = 0; r < rows; r++) {
    const src = tokens[r % tokens.length]!;
    if (src.length < length) throw new Error(`row ${r}: ${src.length} tokens, need ${length}`);
    // ragged rows: lengths from half to full, different per row
    const real = ragged ? length - ((r * 37) % (length / 2)) : length;
    for (let p = 0; p < length; p++) {
      const at = r * length + p;
      if (p >= real) {
        ids[at] = BigInt(padId);
        continue;
      }
      attention[at] = 1n;
      const masked = p >= real / 2 && (p + r) % 2 === 0;
      ids[at] = BigInt(masked ? maskId : src[p]!);
    }
  }
  return { rows, length, ids, attention };
}
