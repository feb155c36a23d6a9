import {
  describeValue,
  paramFieldSchemas,
  zodIssues,
  type FieldIssue,
  type GenerationTask,
} from '@dllm/engine/request';
import { z } from 'zod';
import { ChatTemplateError } from '@dllm/engine/chat';
import { renderChat, type ChatMessage } from './chat-template';
import type { OpenAiEndpoint, SubmissionModel } from './submission';

/**
 * OpenAI request bodies (`/v1/completions`, `/v1/chat/completions`) as this service takes them,
 * in a batch line or as a synchronous request: OpenAI's fields plus every generation parameter
 * by its library name (`policy`, `threshold`, ...). `max_tokens` is `gen_length`; a completion's
 * `suffix` makes it an infill. Fields without an equivalent here are refused, never ignored.
 */
export function openAiRequestSchemas(model: z.ZodType<string, string>) {
  const params = paramFieldSchemas();
  /** Accepted only at its default (`n: 1`, `echo: false`...): anything else has no equivalent. */
  const onlyDefault = (...defaults: unknown[]) =>
    z
      .unknown()
      .refine(
        (v) => v === undefined || defaults.some((d) => JSON.stringify(d) === JSON.stringify(v)),
        {
          error: 'is not supported by this service',
        },
      )
      .optional()
      .describe(
        `not supported (accepted only as ${defaults.map((d) => JSON.stringify(d)).join(' or ')})`,
      );
  const stop = z
    .union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).max(4)])
    .optional()
    .describe('cut the text at the first of these strings (one string or up to 4)');
  const maxTokens = params.gen_length!.describe('tokens to generate (our gen_length)');
  const stringField = (what: string) =>
    z.string({
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : Array.isArray(iss.input)
            ? `must be a string (${what})`
            : `must be a string (got ${describeValue(iss.input)})`,
    });

  /** Sync requests may stream; a batch line never does. */
  const streaming = (sync: boolean): Record<string, z.ZodType> =>
    sync
      ? {
          stream: z.boolean().optional().describe('server-sent events in OpenAI chunk format'),
          stream_options: z
            .strictObject({ include_usage: z.boolean().optional() })
            .nullable()
            .optional(),
          diffusing: z
            .boolean()
            .optional()
            .describe(
              'extension (as Mercury): stream the whole canvas as it denoises; each chunk replaces the last',
            ),
        }
      : { stream: onlyDefault(false, null), stream_options: onlyDefault(null) };

  const common = (sync: boolean) => ({
    model: model.optional(),
    max_tokens: maxTokens.optional(),
    ...params,
    stop,
    user: z.string().optional().describe('accepted and ignored'),
    n: onlyDefault(1),
    presence_penalty: onlyDefault(0),
    frequency_penalty: onlyDefault(0),
    logit_bias: onlyDefault(null, {}),
    ...streaming(sync),
  });
  const strict = {
    error: (iss: { code?: string }) =>
      iss.code === 'unrecognized_keys' ? 'unknown field' : undefined,
  };
  const oneLength = (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = ['max_tokens', 'max_completion_tokens', 'gen_length'].filter(
      (k) => body[k] !== undefined,
    );
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[0]!],
        message: `give ${given.join(' or ')}, not both`,
      });
    }
  };

  const completionShape = (sync: boolean) => ({
    ...common(sync),
    prompt: stringField(
      sync
        ? 'one prompt per request'
        : 'one prompt per line; send several lines for several prompts',
    ).describe('continue this text (the prefix, with suffix)'),
    suffix: z.string().optional().describe('infill: the text after the gap'),
    best_of: onlyDefault(1),
    echo: onlyDefault(false),
    logprobs: onlyDefault(null, 0),
  });

  const text = z.string();
  const message = z.strictObject({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([text, z.array(z.strictObject({ type: z.literal('text'), text }))]),
    name: z.string().optional(),
  });
  const chatShape = (sync: boolean) => ({
    ...common(sync),
    messages: z
      .array(message, {
        error: (iss) =>
          iss.input === undefined
            ? 'is required'
            : `must be an array (got ${describeValue(iss.input)})`,
      })
      .min(1, 'must hold at least 1 message')
      .describe('rendered into one prompt by the chat template (README: "Chat template")'),
    max_completion_tokens: maxTokens.optional(),
    logprobs: onlyDefault(false, null),
    top_logprobs: onlyDefault(null, 0),
    response_format: onlyDefault({ type: 'text' }),
    tools: onlyDefault(null, []),
    tool_choice: onlyDefault('none'),
    parallel_tool_calls: onlyDefault(null, false),
  });

  const whole = <S extends z.ZodRawShape>(shape: S) =>
    z.strictObject(shape, strict).superRefine(oneLength, { when: () => true });

  return {
    /** a synchronous request's body (and its OpenAPI description) */
    completion: whole(completionShape(true)),
    chat: whole(chatShape(true)),
    /** a batch line's body, checked part by part (see LineBodyCheck) */
    completionLine: new LineBodyCheck(completionShape(false), ['prompt', 'suffix'], whole),
    chatLine: new LineBodyCheck(chatShape(false), ['messages'], whole),
  };
}

/**
 * A batch line's body by the same schema as a request's, faster: the fields that carry the text
 * (prompt, suffix, messages) are checked on every line, the rest (model, max_tokens, parameters,
 * often identical over 100,000 lines) once per distinct value, cached for one batch.
 */
export class LineBodyCheck {
  private readonly text: [string, z.ZodType][];
  private readonly textFields: Set<string>;
  private readonly rest: z.ZodType<{ model?: string }>;

  constructor(
    shape: z.ZodRawShape,
    textFields: string[],
    whole: (shape: z.ZodRawShape) => z.ZodType,
  ) {
    this.text = textFields.map((f) => [f, shape[f] as z.ZodType]);
    this.textFields = new Set(textFields);
    const rest = Object.fromEntries(Object.entries(shape).filter(([k]) => !textFields.includes(k)));
    this.rest = whole(rest) as z.ZodType<{ model?: string }>;
  }

  /**
   * Issues (fields relative to `prefix`), or the body's model and generation parameters (with
   * their JSON, a cache key). `cache` lives for one batch.
   */
  check(body: Record<string, unknown>, prefix: string, cache: Map<string, LineBodyRest>): LineBody {
    const rest: Record<string, unknown> = {};
    for (const key in body) if (!this.textFields.has(key)) rest[key] = body[key];
    const key = JSON.stringify(rest);
    let result = cache.get(key);
    if (!result) {
      const parsed = this.rest.safeParse(rest);
      result = parsed.success
        ? { issues: [], model: parsed.data.model, ...openAiParams(rest, prefix) }
        : { issues: zodIssues(parsed.error, prefix) };
      // bounded: a batch of all-different parameters must not grow this without limit
      if (cache.size < 10_000) cache.set(key, result);
    }
    let issues = result.issues;
    for (const [field, schema] of this.text) {
      const parsed = schema.safeParse(body[field]);
      if (!parsed.success) issues = [...issues, ...zodIssues(parsed.error, `${prefix}.${field}`)];
    }
    return issues === result.issues ? result : { ...result, issues };
  }
}

/** What a batch line's body came to, apart from its text. */
export interface LineBodyRest {
  issues: FieldIssue[];
  model?: string;
  params?: Record<string, unknown>;
  paramsKey?: string;
  rename?: (field: string) => string;
}
export type LineBody = LineBodyRest;

export type OpenAiRequestSchemas = ReturnType<typeof openAiRequestSchemas>;
export type CompletionRequest = z.output<OpenAiRequestSchemas['completion']>;
export type ChatRequest = z.output<OpenAiRequestSchemas['chat']>;

/** Fields of a request body that are not generation parameters. */
const NOT_PARAMS = new Set([
  'model',
  'prompt',
  'suffix',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'user',
  'n',
  'best_of',
  'echo',
  'logprobs',
  'top_logprobs',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'stream',
  'stream_options',
  'diffusing',
]);

/** A request that passed its schema, as a task and raw generation parameters. */
export interface OpenAiGeneration {
  task: GenerationTask;
  /** where the task's text came from, for length problems */
  taskField: string;
  params: Record<string, unknown>;
  /** maps a parameter's path back to the field the user wrote (gen_length -> max_tokens) */
  rename: (field: string) => string;
}

/**
 * The generation parameters of a request body: our own by name, `max_tokens` (or
 * `max_completion_tokens`) as gen_length, one `stop` string as a list. Also a key (their JSON) and
 * the renaming of gen_length back to the field the user wrote, for error messages.
 */
export function openAiParams(
  body: Record<string, unknown>,
  prefix: string,
): { params: Record<string, unknown>; paramsKey: string; rename: (field: string) => string } {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!NOT_PARAMS.has(key) && value !== undefined) params[key] = value;
  }
  const length = body.max_tokens ?? body.max_completion_tokens;
  const lengthField = body.max_tokens !== undefined ? 'max_tokens' : 'max_completion_tokens';
  if (length !== undefined) params.gen_length = length;
  if (typeof body.stop === 'string') params.stop = [body.stop];
  else if (body.stop !== undefined) params.stop = body.stop;
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  const rename = (field: string) =>
    length !== undefined && field === at('gen_length') ? at(lengthField) : field;
  return { params, paramsKey: JSON.stringify(params), rename };
}

/** The task of a request body: a prompt (or prefix + suffix), or chat messages by the template. */
export function openAiTask(
  endpoint: OpenAiEndpoint,
  body: Record<string, unknown>,
  prefix: string,
  model: Pick<SubmissionModel, 'chat'>,
): { task: GenerationTask; taskField: string } | { problem: FieldIssue } {
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (endpoint === '/v1/chat/completions') {
    const messages = body.messages as ChatMessage[];
    try {
      const rendered = model.chat
        ? model.chat(messages)
        : { prompt: renderChat(messages), chat: false };
      const task: GenerationTask = rendered.chat
        ? { prompt: rendered.prompt, chat: true }
        : { prompt: rendered.prompt };
      return { task, taskField: at('messages') };
    } catch (err) {
      if (!(err instanceof ChatTemplateError)) throw err;
      return { problem: { field: at('messages'), message: err.message } };
    }
  }
  const prompt = body.prompt as string;
  const task: GenerationTask =
    body.suffix === undefined ? { prompt } : { prefix: prompt, suffix: body.suffix as string };
  return { task, taskField: at('prompt') };
}

/** Both, for a single request (POST /v1/completions). */
export function openAiGeneration(
  endpoint: OpenAiEndpoint,
  body: Record<string, unknown>,
  prefix: string,
  model: Pick<SubmissionModel, 'chat'>,
): OpenAiGeneration | { problem: FieldIssue } {
  const { params, rename } = openAiParams(body, prefix);
  const task = openAiTask(endpoint, body, prefix, model);
  return 'problem' in task ? task : { ...task, params, rename };
}
