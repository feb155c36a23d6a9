import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { formatIssues, zodIssues } from '../request/issues';
import { dllmJsonV3Schema, type DllmJsonV3 } from './dllm-json-v3';

export {
  dllmJsonV3Schema,
  modelDefaultsSchema,
  DECODER_OUTPUTS,
  MODEL_KINDS,
  TOPOLOGIES,
  type DllmJsonV3,
  type ModelDefaults,
  type ModelKind,
  type Topology,
} from './dllm-json-v3';

/**
 * dllm.json formats 1-2 (the bundled model, tools/train): what the sampler must know about a graph. Our own exports add reduced outputs
 * (top_ids, top_probs, entropy); a generic graph with only `logits` works too (reduced in JS).
 * Pure (fs + zod): the API reads the same file by the same schema without loading the runtime.
 */
export const dllmJsonSchema = z.object({
  name: z.string().min(1).default('unnamed'),
  vocab_size: z.number().int().positive(),
  max_length: z.number().int().min(2),
  mask_token_id: z.number().int().min(0),
  eos_token_id: z.number().int().min(0),
  pad_token_id: z.number().int().min(0),
  shift_logits: z.boolean().default(false).describe('logits at i predict token i+1 (Dream)'),
  outputs: z
    .record(z.string(), z.string())
    .refine((o) => 'logits' in o || ('top_ids' in o && 'top_probs' in o), {
      message: 'must name "logits", or "top_ids" and "top_probs"',
    }),
  top_k: z.number().int().positive().optional(),
  inputs: z.record(z.string(), z.string()).optional(),
  weights: z
    .string()
    .min(1)
    .optional()
    .describe('external-data file the graphs read their weights from'),
  kind: z.enum(['masked-diffusion']).default('masked-diffusion'),
  graphs: z
    .object({
      full: z.string().min(1).default('model.onnx'),
      refresh: z.string().min(1).optional(),
      step: z.string().min(1).optional(),
    })
    .refine((g) => (g.refresh === undefined) === (g.step === undefined), {
      message: 'name both "refresh" and "step", or neither',
    })
    .default({ full: 'model.onnx' })
    .describe('graph files; refresh + step enable cached block decoding'),
  cache: z
    .object({
      layers: z.number().int().positive(),
      heads: z.number().int().positive(),
      head_dim: z.number().int().positive(),
      d_model: z.number().int().positive(),
      halo: z.number().int().min(0),
    })
    .optional()
    .describe('shapes of the cached state the refresh graph returns'),
});

export type DllmJsonV2 = z.output<typeof dllmJsonSchema>;
/** Either format; `format_version` 3 tells them apart (earlier files may not write theirs). */
export type DllmJson = (DllmJsonV2 & { format_version?: 1 | 2 }) | DllmJsonV3;

const isV3 = (raw: unknown): boolean =>
  typeof raw === 'object' &&
  raw !== null &&
  (raw as { format_version?: unknown }).format_version === 3;

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** Reads and validates `<dir>/dllm.json`; throws BundleError naming the file and every bad field. */
export function readDllmJson(dirInput: string): {
  path: string;
  json: DllmJson;
  nameGiven: boolean;
} {
  const path = join(resolve(dirInput), 'dllm.json');
  if (!existsSync(path))
    throw new BundleError(`model bundle ${resolve(dirInput)}: missing dllm.json`);
  const text = readFileSync(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = isV3(raw) ? dllmJsonV3Schema.safeParse(raw) : dllmJsonSchema.safeParse(raw);
  if (!parsed.success) throw new BundleError(`${path}: ${formatIssues(zodIssues(parsed.error))}`);
  const nameGiven = typeof raw === 'object' && raw !== null && 'name' in raw;
  return { path, json: parsed.data, nameGiven };
}
