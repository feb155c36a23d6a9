import { generationParamsSchema } from '@dllm/engine/params';
import { describeValue, itemSchema } from '@dllm/engine/request';
import { z } from 'zod';
import { isAllowedWebhookUrl } from '../../webhooks/webhook-url';
import { OPENAI_ENDPOINTS, type SubmissionRules } from './submission';

export const MIN_COMPLETION_WINDOW = 60;
export const METADATA_LIMITS = { keys: 16, keyLength: 64, valueLength: 512 } as const;
const DURATION = /^\s*(\d{1,9})\s*([smhd]?)\s*$/;
const UNIT_SECONDS = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 } as const;

/**
 * The schemas of a native batch (`POST /v1/batches` with a JSON body) and of the batch options
 * every kind of batch shares, built for this deployment's limits (the served model, item and
 * window limits, webhook URLs). They validate submissions and are the OpenAPI document's
 * description of them (see `requestJsonSchema`): one description of a batch.
 */
export function batchSchemas(rules: SubmissionRules) {
  const canonical = new Map<string, string>();
  for (const m of rules.models) {
    canonical.set(m.name, m.name);
    for (const alias of m.aliases) if (!canonical.has(alias)) canonical.set(alias, m.name);
  }
  const names = rules.models.map((m) => m.name);
  const model = z
    .enum([...canonical.keys()] as [string, ...string[]], {
      error: (iss) =>
        typeof iss.input === 'string'
          ? `model ${JSON.stringify(iss.input)} is not served here; available: ${names.join(', ')}`
          : `must be a string (got ${describeValue(iss.input)})`,
    })
    .transform((given) => canonical.get(given)!)
    .describe(
      `one of the served models (${names.join(', ')}; default ${names[0]}); GET /v1/models lists them`,
    );

  const range = `${MIN_COMPLETION_WINDOW} to ${rules.maxCompletionWindow} seconds`;
  const badWindow = `must be a whole number of seconds or a duration such as "24h" (${range})`;
  const completionWindow = z
    .union(
      [z.int({ error: badWindow }), z.string({ error: badWindow }).regex(DURATION, badWindow)],
      {
        error: badWindow,
      },
    )
    .transform((v) => {
      if (typeof v === 'number') return v;
      const [, n, unit] = DURATION.exec(v)!;
      return Number(n) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
    })
    .refine((s) => s >= MIN_COMPLETION_WINDOW && s <= rules.maxCompletionWindow, {
      error: (iss) => `${String(iss.input)} seconds is outside ${range}`,
    })
    .describe(
      `seconds (or "90m", "24h", "2d"), ${range}; items not started by then end as expired`,
    );

  const { keys, keyLength, valueLength } = METADATA_LIMITS;
  const metadata = z
    .record(
      z.string().min(1).max(keyLength, `keys are 1 to ${keyLength} characters`),
      z
        .string({ error: (iss) => `must be a string (got ${describeValue(iss.input)})` })
        .max(valueLength, {
          error: (iss) => `at most ${valueLength} characters (got ${(iss.input as string).length})`,
        }),
      { error: (iss) => `must be an object of string values (got ${describeValue(iss.input)})` },
    )
    .refine((m) => Object.keys(m).length <= keys, {
      error: (iss) => `at most ${keys} keys (got ${Object.keys(iss.input as object).length})`,
      when: (payload) => typeof payload.value === 'object' && payload.value !== null,
    })
    .describe('your labels; filter history with metadata[key]=value');

  const allowed = rules.webhookAllowedUrls;
  const webhookUrl = z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .refine((url) => isAllowedWebhookUrl(url, allowed), {
      error:
        allowed.length === 0
          ? 'webhooks are off in this deployment (WEBHOOK_ALLOWED_URLS is empty)'
          : `is not allowed here; webhook URLs must start with one of: ${allowed.join(', ')}`,
    })
    .describe('notified (HMAC-signed POST) once the batch ends; see the README');

  /** Options of any batch, whatever its body: JSON fields, or the query of a JSONL upload. */
  const options = {
    completion_window: completionWindow.optional(),
    metadata: metadata.optional(),
    webhook_url: webhookUrl.optional(),
  };

  const itemList = <T extends z.ZodType>(item: T) =>
    z
      .array(item, {
        error: (iss) =>
          iss.input === undefined
            ? 'is required (a list of items)'
            : `must be an array (got ${describeValue(iss.input)})`,
      })
      .min(1, 'must hold at least 1 item')
      .max(rules.maxItems, {
        error: (iss) =>
          `at most ${rules.maxItems} items per batch (got ${(iss.input as unknown[]).length})`,
      });

  const batchShape = {
    model: model.optional(),
    params: generationParamsSchema
      .optional()
      .describe("defaults for every item; an item's own params override them"),
    ...options,
    items: itemList(itemSchema),
  };
  const strictRoot = {
    error: (iss: { code?: string; input?: unknown }) =>
      iss.code === 'unrecognized_keys'
        ? `unknown field (allowed: ${Object.keys(batchShape).join(', ')})`
        : `the body must be a JSON object (got ${describeValue(iss.input)})`,
  };

  /** OpenAI's batch create: a batch made from an uploaded input file (POST /v1/files). */
  const openAiCreate = z.strictObject(
    {
      input_file_id: z
        .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a file id') })
        .min(1)
        .max(64)
        .describe('a file uploaded with purpose "batch"'),
      endpoint: z
        .enum(OPENAI_ENDPOINTS, {
          error: `must be ${OPENAI_ENDPOINTS.map((e) => `"${e}"`).join(' or ')} (this service generates text)`,
        })
        .describe("every line's url must be this endpoint"),
      completion_window: completionWindow,
      metadata: metadata
        .nullable()
        .optional()
        .transform((m) => m ?? undefined),
      webhook_url: webhookUrl.optional(),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? 'unknown field (allowed: input_file_id, endpoint, completion_window, metadata, webhook_url)'
          : `the body must be a JSON object (got ${describeValue(iss.input)})`,
    },
  );

  return {
    model,
    openAiCreate,
    options: z.strictObject(options),
    /** A JSON batch, items included (the OpenAPI description of the body). */
    batch: z.strictObject(batchShape, strictRoot),
    /** A JSON batch with its items only counted: they are checked one by one, by index. */
    envelope: z.strictObject({ ...batchShape, items: itemList(z.unknown()) }, strictRoot),
  };
}

export type BatchSchemas = ReturnType<typeof batchSchemas>;
