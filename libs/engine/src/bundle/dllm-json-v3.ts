import { z } from 'zod';
import { POLICIES } from '../params';

/**
 * dllm.json format 3: a bundle imported from a Hugging Face checkpoint (tools/import, contract in
 * tools/import/spec.py). One decoder graph with an optional past serves full recompute, block
 * refreshes and cached steps, so a worker holds one copy of the weights. Every field is written
 * explicitly by the importer: nothing here has a silent default.
 */
const id = z.number().int().min(0);
const int = (min: number, max = 1_000_000) => z.number().int().min(min).max(max);

export const TOPOLOGIES = ['bidirectional', 'block-causal', 'causal'] as const;
export type Topology = (typeof TOPOLOGIES)[number];
export const MODEL_KINDS = ['masked-diffusion', 'autoregressive'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The outputs the engine reads from the decoder graph (their names in the graph are these). */
export const DECODER_OUTPUTS = [
  'top_ids',
  'top_probs',
  'entropy',
  'present_keys',
  'present_values',
] as const;

/**
 * Per-model generation defaults: applied under a request's own values, above the parameter
 * schema's defaults (params.ts `withModelDefaults`). Ranges are the parameter schema's.
 */
export const modelDefaultsSchema = z.strictObject({
  gen_length: int(1, 4096).optional(),
  block_length: int(1, 4096).optional(),
  policy: z.enum(POLICIES).optional(),
  threshold: z.number().gt(0).max(1).optional(),
});
export type ModelDefaults = z.output<typeof modelDefaultsSchema>;

export const dllmJsonV3Schema = z
  .object({
    format_version: z.literal(3),
    name: z.string().min(1),
    kind: z.enum(MODEL_KINDS),
    family: z.string().min(1),
    source: z.record(z.string(), z.unknown()).optional(),
    vocab_size: z.number().int().positive(),
    max_length: z.number().int().min(2),
    mask_token_id: id,
    eos_token_id: id,
    eos_token_ids: z.array(id).min(1, 'list at least one id that ends generation'),
    pad_token_id: id,
    bos_token_id: id.nullable(),
    shift_logits: z.boolean(),
    attention: z.object({
      type: z.enum(TOPOLOGIES),
      block_size: z.number().int().positive().nullable(),
    }),
    graphs: z.strictObject({ decoder: z.string().min(1) }),
    weights: z.string().min(1).optional(),
    weights_dtype: z.enum(['float32', 'float16', 'int4']).optional(),
    inputs: z.record(z.string(), z.string()).optional(),
    outputs: z.record(z.string(), z.string()).refine((o) => DECODER_OUTPUTS.every((n) => n in o), {
      message: `must name ${DECODER_OUTPUTS.join(', ')}`,
    }),
    top_k: z.number().int().positive(),
    cache: z.object({
      layers: z.number().int().positive(),
      heads: z.number().int().positive(),
      head_dim: z.number().int().positive(),
      d_model: z.number().int().positive(),
      halo: z.literal(0, 'must be 0 (a decoder graph reads no convolution halo)'),
    }),
    chat_template: z.string().min(1).nullable(),
    defaults: modelDefaultsSchema,
    parity: z.unknown().optional(),
  })
  .superRefine((d, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const { type, block_size } = d.attention;
    if (type === 'block-causal' && block_size === null)
      issue(['attention', 'block_size'], 'required for block-causal attention');
    if (type !== 'block-causal' && block_size !== null && !(type === 'causal' && block_size === 1))
      issue(['attention', 'block_size'], `must be null for ${type} attention`);
    if (d.kind === 'autoregressive' && type !== 'causal')
      issue(['attention', 'type'], 'an autoregressive model has causal attention');
    if (d.kind === 'masked-diffusion' && type === 'causal')
      issue(['attention', 'type'], 'a masked-diffusion model is bidirectional or block-causal');
    if (d.kind === 'autoregressive' && !d.shift_logits)
      issue(['shift_logits'], 'an autoregressive model predicts the next token: must be true');
    for (const [i, e] of d.eos_token_ids.entries())
      if (e >= d.vocab_size) issue(['eos_token_ids', i], `${e} is outside vocab_size`);
    const b = d.defaults;
    if (b.block_length !== undefined && b.gen_length !== undefined && b.block_length > b.gen_length)
      issue(['defaults', 'block_length'], `must be <= defaults.gen_length (${b.gen_length})`);
  });

export type DllmJsonV3 = z.output<typeof dllmJsonV3Schema>;
