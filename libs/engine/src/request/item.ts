import { z } from 'zod';
import { GENERATION_PARAM_NAMES, generationParamsSchema } from '../params';
import { describeValue } from './issues';
import { refineTask, taskShape } from './task';

export const MAX_CUSTOM_ID = 64;

const lengthMessage = (input: unknown) =>
  `must be 1 to ${MAX_CUSTOM_ID} characters (got ${(input as string).length})`;

/** The caller's name for an item, echoed in its result; unique within a batch. */
export const customIdSchema = z
  .string({
    error: (iss) =>
      iss.input === undefined
        ? 'is required'
        : `must be a string (got ${describeValue(iss.input)})`,
  })
  .min(1, { error: (iss) => lengthMessage(iss.input) })
  .max(MAX_CUSTOM_ID, { error: (iss) => lengthMessage(iss.input) })
  .describe('your name for the item, unique in the batch; results carry it');

/**
 * An item's own parameters: only "an object" here, because they are validated after being merged
 * over the batch's defaults (block_length <= gen_length may depend on both). Documented as the
 * parameter schema by `requestJsonSchema`.
 */
export const itemParamsSchema = z.record(z.string(), z.unknown(), {
  error: (iss) => `must be an object (got ${describeValue(iss.input)})`,
});

const strict = (allowed: string) => ({
  error: (iss: { code?: string; input?: unknown }) =>
    iss.code === 'unrecognized_keys'
      ? `unknown field (allowed: ${allowed})`
      : `each item must be an object (got ${describeValue(iss.input)})`,
});

const itemShape = {
  custom_id: customIdSchema,
  ...taskShape,
  params: itemParamsSchema
    .optional()
    .describe("generation parameters of this item, over the batch's params"),
};

/**
 * One item of a native batch: `{custom_id, prompt | prefix + suffix, params?}`. The one item shape
 * of the API's JSON batches and of the CLI's input lines.
 */
export const itemSchema = z
  .strictObject(itemShape, strict(Object.keys(itemShape).join(', ')))
  .superRefine(refineTask, { when: () => true });

export type ItemInput = z.input<typeof itemSchema>;

const PARAM_NAMES = new Set(GENERATION_PARAM_NAMES);

/**
 * Each generation parameter's own schema, optional and without its default: for request formats
 * that carry parameters among other fields (OpenAI request bodies), so a bad value is reported at
 * the field the user wrote. The whole set is still validated by the parameter schema afterwards.
 */
export function paramFieldSchemas(): Record<string, z.ZodType> {
  const out: Record<string, z.ZodType> = {};
  for (const [name, field] of Object.entries(generationParamsSchema.shape)) {
    const inner: z.ZodType =
      field instanceof z.ZodDefault || field instanceof z.ZodOptional
        ? (field.unwrap() as z.ZodType)
        : field;
    out[name] = inner.optional().describe(field.description ?? name);
  }
  return out;
}

/**
 * A CLI input line may also give parameters at the top level (`{"custom_id", "prompt",
 * "gen_length": 8}`), as the README has always shown: they are folded into `params` (the
 * top-level ones win). `folded` names them, so errors can point at what the user wrote.
 */
export function foldTopLevelParams(line: Record<string, unknown>): {
  item: Record<string, unknown>;
  folded: Set<string>;
} {
  const item: Record<string, unknown> = {};
  const params: Record<string, unknown> = {};
  const folded = new Set<string>();
  for (const [key, value] of Object.entries(line)) {
    if (PARAM_NAMES.has(key)) {
      params[key] = value;
      folded.add(key);
    } else item[key] = value;
  }
  if (folded.size > 0) {
    const nested = line.params;
    item.params =
      typeof nested === 'object' && nested !== null && !Array.isArray(nested)
        ? { ...nested, ...params }
        : (nested ?? params);
  }
  return { item, folded };
}

/**
 * JSON Schema of a request schema (OpenAPI documents): `itemParamsSchema` is shown as the
 * generation parameters it stands for, from the one parameter schema.
 */
export function requestJsonSchema(
  schema: z.ZodType,
  target: 'openapi-3.0' | 'draft-2020-12' = 'openapi-3.0',
): Record<string, unknown> {
  const params = z.toJSONSchema(generationParamsSchema, {
    io: 'input',
    unrepresentable: 'any',
    target,
  });
  delete params.$schema;
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target,
    override: (ctx) => {
      if ((ctx.zodSchema as unknown) === itemParamsSchema) {
        for (const key of Object.keys(ctx.jsonSchema))
          delete (ctx.jsonSchema as Record<string, unknown>)[key];
        Object.assign(ctx.jsonSchema, params);
      }
    },
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}
