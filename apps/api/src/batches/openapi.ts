import { generationParamsSchema } from '@dllm/engine/params';
import { z } from 'zod';

/** The generation parameters as JSON Schema, straight from the one schema that validates them. */
const paramsSchema = z.toJSONSchema(generationParamsSchema, {
  io: 'input',
  unrepresentable: 'any',
}) as Record<string, unknown>;
delete paramsSchema.$schema;

/** OpenAPI description of a JSON batch submission (validation itself is in submission/). */
export const submitBodySchema = {
  type: 'object',
  required: ['items'],
  additionalProperties: false,
  properties: {
    model: { type: 'string', description: 'the served model (default: it)' },
    params: {
      ...paramsSchema,
      description: "defaults for every item; an item's own params override them",
    },
    metadata: {
      type: 'object',
      additionalProperties: { type: 'string', maxLength: 512 },
      maxProperties: 16,
      description: 'your labels; filter history with metadata[key]=value',
    },
    completion_window: {
      oneOf: [
        { type: 'integer', minimum: 60 },
        { type: 'string', example: '24h' },
      ],
      description: 'seconds (or "90m", "24h", "2d"); items not started by then end as expired',
    },
    items: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['custom_id'],
        additionalProperties: false,
        properties: {
          custom_id: {
            type: 'string',
            minLength: 1,
            maxLength: 64,
            description: 'unique in the batch',
          },
          prompt: { type: 'string', description: 'continue this text' },
          prefix: { type: 'string', description: 'infill: text before the gap (with suffix)' },
          suffix: { type: 'string', description: 'infill: text after the gap (with prefix)' },
          params: paramsSchema,
        },
      },
    },
  },
  example: {
    model: 'dllm-code-small',
    params: { gen_length: 32, policy: 'threshold', threshold: 0.9 },
    metadata: { project: 'docs' },
    items: [
      { custom_id: 'a', prompt: 'def fibonacci(n):\n' },
      { custom_id: 'b', prefix: 'def add(a, b):\n    ', suffix: '\n', params: { gen_length: 8 } },
    ],
  },
} as const;
