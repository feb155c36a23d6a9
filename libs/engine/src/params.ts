import { z } from 'zod';
import { DEADLINE_FORMAT, parseDeadline } from './request/deadline';
import { zodIssues, type FieldIssue } from './request/issues';

export { zodIssues, type FieldIssue } from './request/issues';

/** How a step decides which masked positions to commit (DESIGN.md section 3). */
export const POLICIES = ['fixed', 'threshold', 'factor', 'entropy'] as const;
export type PolicyName = (typeof POLICIES)[number];

/**
 * Cached block decoding (Fast-dLLM): `dual` caches keys/values of everything outside the active block,
 * `prefix` only what precedes it (the block and everything after it are recomputed), `none` recomputes
 * the whole sequence every step. `auto` is `dual` when the model ships the cache graphs, else `none`.
 */
export const CACHE_MODES = ['auto', 'dual', 'prefix', 'none'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

/** Block length used when a cached row does not set one: the cache is refreshed at every block start. */
export const CACHED_BLOCK_LENGTH = 32;

/**
 * Step budgets: `fixed` runs the row's parameters as given; `auto` lets the worker's budget controller
 * pick the row's threshold when it starts (lower = fewer forwards), so a loaded worker meets deadlines.
 */
export const BUDGETS = ['fixed', 'auto'] as const;
export type BudgetMode = (typeof BUDGETS)[number];

/** The thresholds the budget controller chooses among, gentlest (best quality) first. */
export const AUTO_THRESHOLD_LEVELS = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2] as const;
const LOWEST_LEVEL = AUTO_THRESHOLD_LEVELS[AUTO_THRESHOLD_LEVELS.length - 1]!;
const HIGHEST_LEVEL = AUTO_THRESHOLD_LEVELS[0];

const DEFAULT_GEN_LENGTH = 64;

const int = (min: number, max = 1_000_000) => z.number().int().min(min).max(max);

/**
 * Per-row generation parameters: the one schema the CLI, the API and the worker share, with the
 * defaults. Unknown fields are rejected so a typo never silently falls back to a default.
 */
export const generationParamsSchema = z
  .strictObject(
    {
      policy: z.enum(POLICIES).default('threshold').describe('commit rule per step'),
      gen_length: int(1, 4096)
        .default(DEFAULT_GEN_LENGTH)
        .describe('tokens to generate (canvas size)'),
      block_length: int(1, 4096)
        .optional()
        .describe(
          `semi-autoregressive block size; default: ${CACHED_BLOCK_LENGTH} with a cache, gen_length (one block) without`,
        ),
      max_steps: int(1, 4096)
        .optional()
        .describe(
          'cap on forwards; when reached the rest is committed greedily; default: gen_length',
        ),
      min_steps: int(1, 4096)
        .default(1)
        .describe('floor on forwards (limits tokens committed per step)'),
      tokens_per_step: int(1, 4096).default(1).describe('fixed: tokens committed per step'),
      threshold: z
        .number()
        .gt(0)
        .max(1)
        .default(0.9)
        .describe('threshold: commit every position with confidence >= this'),
      factor: z
        .number()
        .gt(0)
        .max(64)
        .default(1)
        .describe('factor: largest n with n-th best confidence >= 1 - factor/(n+1)'),
      entropy_budget: z
        .number()
        .gt(0)
        .max(64)
        .default(0.3)
        .describe('entropy: summed entropy (nats) allowed per step'),
      temperature: z.number().min(0).max(10).default(0).describe('0 = greedy'),
      top_k: int(1, 4096).optional().describe('sample among the k most probable tokens'),
      top_p: z.number().gt(0).max(1).default(1).describe('nucleus sampling mass'),
      seed: int(0, 2 ** 31 - 1)
        .optional()
        .describe('sampling seed; default: drawn at random and reported'),
      stop_at_eos: z
        .boolean()
        .default(true)
        .describe('end the row at end-of-text (continuation only)'),
      stop: z
        .array(z.string().min(1).max(64))
        .max(4)
        .optional()
        .describe('cut the text at the first of these strings'),
      cache: z
        .enum(CACHE_MODES)
        .default('auto')
        .describe('key/value cache between block refreshes: auto, dual, prefix or none'),
      cache_refresh_every: int(0, 4096)
        .default(0)
        .describe('also refresh the cache every n steps inside a block (0 = only at block starts)'),
      intermediate_every: int(0, 4096)
        .default(0)
        .describe('report the partially denoised text every k steps (0 = off)'),
      budget: z
        .enum(BUDGETS)
        .default('fixed')
        .describe(
          'fixed: run these parameters as given; auto: under load the worker lowers the threshold (down to quality_floor) to meet deadlines',
        ),
      deadline: z
        .string()
        .max(64)
        .refine((s) => parseDeadline(s, 0) !== null, `must be ${DEADLINE_FORMAT}`)
        .optional()
        .describe(`finish by: ${DEADLINE_FORMAT}; within the batch's completion window`),
      quality_floor: z
        .number()
        .min(LOWEST_LEVEL)
        .max(HIGHEST_LEVEL)
        .optional()
        .describe(
          `budget auto: the lowest threshold you accept (${LOWEST_LEVEL} to ${HIGHEST_LEVEL}; default ${LOWEST_LEVEL})`,
        ),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : undefined) },
  )
  .superRefine((p, ctx) => {
    if (p.block_length !== undefined && p.block_length > p.gen_length) {
      ctx.addIssue({
        code: 'custom',
        path: ['block_length'],
        message: `must be <= gen_length (${p.gen_length})`,
      });
    }
    if (p.max_steps !== undefined && p.min_steps > p.max_steps) {
      ctx.addIssue({
        code: 'custom',
        path: ['min_steps'],
        message: `must be <= max_steps (${p.max_steps})`,
      });
    }
    // auto means "the controller picks the threshold": another policy would silently lose its own rule
    if (p.budget === 'auto' && p.policy !== 'threshold') {
      ctx.addIssue({
        code: 'custom',
        path: ['policy'],
        message: `budget "auto" runs the threshold policy (the controller picks the threshold); remove policy "${p.policy}" or use budget "fixed"`,
      });
    }
    if (p.quality_floor !== undefined && p.quality_floor > p.threshold) {
      ctx.addIssue({
        code: 'custom',
        path: ['quality_floor'],
        message: `must be <= threshold (${p.threshold}), the gentlest setting budget "auto" starts from`,
      });
    }
  });

export type GenerationParamsInput = z.input<typeof generationParamsSchema>;
export type GenerationParams = z.output<typeof generationParamsSchema>;

/** A model's own generation defaults (dllm.json `defaults`; bundle/dllm-json-v3.ts validates them). */
export interface ModelParamDefaults {
  gen_length?: number;
  block_length?: number;
  policy?: PolicyName;
  threshold?: number;
}

/**
 * A request's parameters over a model's defaults: a field the request sets wins, a field it leaves
 * out takes the model's value, and only then the schema's own default. A model's block_length is
 * capped at the request's gen_length (a short request must not fail on a default it never chose).
 * Input that is not an object is returned as is, for the schema to refuse.
 */
export function withModelDefaults(
  input: unknown,
  defaults: ModelParamDefaults | undefined,
): unknown {
  if (!defaults || (input !== undefined && input !== null && typeof input !== 'object'))
    return input;
  if (Array.isArray(input)) return input;
  const given = (input ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...given };
  for (const [key, value] of Object.entries(defaults))
    if (value !== undefined && given[key] === undefined) out[key] = value;
  if (given.block_length === undefined && defaults.block_length !== undefined) {
    const gen = typeof out.gen_length === 'number' ? out.gen_length : DEFAULT_GEN_LENGTH;
    out.block_length = Math.min(defaults.block_length, gen);
  }
  return out;
}

/**
 * Validates and fills defaults (the model's, when given, under the request's own values); throws
 * ParamsError listing every bad field.
 */
export function parseGenerationParams(
  input: unknown,
  prefix = 'params',
  modelDefaults?: ModelParamDefaults,
): GenerationParams {
  const r = generationParamsSchema.safeParse(withModelDefaults(input, modelDefaults) ?? {});
  if (!r.success) throw new ParamsError(zodIssues(r.error, prefix));
  return r.data;
}

export class ParamsError extends Error {
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('; '));
    this.name = 'ParamsError';
  }
}

/** Every parameter name the schema knows (for inputs that mix task fields and parameters). */
export const GENERATION_PARAM_NAMES: readonly string[] = Object.keys(generationParamsSchema.shape);
