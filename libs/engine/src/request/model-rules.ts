import type { GenerationParams } from '../params';

/** What of a model's kind and topology decides which requests it can run (ModelBundle's fields). */
export interface ModelShape {
  kind: 'masked-diffusion' | 'autoregressive';
  attention: { type: 'bidirectional' | 'block-causal' | 'causal'; blockSize: number | null };
}

/**
 * Parameters an autoregressive model has no use for: it commits exactly one token per forward (the
 * next one, by temperature / top_k / top_p / seed), so these are IGNORED for it. They are not
 * refused, because a submission's parameters arrive with the schema's defaults filled in, and a
 * batch written for a diffusion model must still run on its AR twin.
 */
export const AR_IGNORED_PARAMS = [
  'policy',
  'threshold',
  'factor',
  'entropy_budget',
  'tokens_per_step',
  'min_steps',
  'block_length',
  'cache_refresh_every',
  'budget',
  'quality_floor',
] as const;

/**
 * A request this model cannot run as asked, in words naming the field (null: it can). The engine
 * refuses such a row; the API can refuse the item at submit with the same words.
 *   autoregressive: no infilling (it only continues a prompt); no `cache: "dual"` (nothing after the
 *     newest token is ever computed); `max_steps` below gen_length is refused (one forward per token
 *     is the least an AR model needs: there is no "commit the rest greedily" for it).
 *   block-causal: no infilling (the canvas cannot attend to a suffix in a later block); no
 *     `cache: "dual"` (the prefix cache is already exact); `block_length` must be the model's block.
 */
export function modelParamsProblem(
  model: ModelShape,
  params: GenerationParams,
  infill: boolean,
): string | null {
  const topology = model.attention.type;
  if (model.kind === 'autoregressive') {
    if (infill)
      return 'an autoregressive model only continues a prompt: infilling (prefix + suffix) needs a diffusion model';
    if (params.cache === 'dual')
      return 'cache: "dual" needs a bidirectional model; an autoregressive model keeps an exact KV cache (use "auto", "prefix" or "none")';
    if (params.max_steps !== undefined && params.max_steps < params.gen_length)
      return `max_steps: an autoregressive model takes one forward per token; must be >= gen_length (${params.gen_length}) or unset`;
    return null;
  }
  if (topology === 'block-causal') {
    const bs = model.attention.blockSize!;
    if (infill)
      return 'a block-causal model cannot infill: its canvas never attends to a suffix in a later block';
    if (params.cache === 'dual')
      return 'cache: "dual" is for bidirectional models; a block-causal model has an exact prefix cache (use "auto", "prefix" or "none")';
    // A model default's block_length is capped at a shorter gen_length (params.ts), so a short
    // request arrives here with block_length == gen_length < bs: name the field the user chose.
    if (params.block_length !== undefined && params.block_length !== bs && params.gen_length < bs)
      return `gen_length: this model decodes in its own blocks of ${bs} tokens; gen_length must be at least ${bs} (got ${params.gen_length})`;
    if (params.block_length !== undefined && params.block_length !== bs)
      return `block_length: this model decodes in its own blocks of ${bs} tokens; use ${bs} or leave it unset`;
  }
  return null;
}
