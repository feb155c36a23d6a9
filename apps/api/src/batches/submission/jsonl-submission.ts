import { GENERATION_PARAM_NAMES } from '@dllm/engine/params';
import type { TaskText } from './prompt-budget';
import { Problems } from './problems';
import {
  batchOptions,
  describe,
  isPlainObject,
  ItemBuilder,
  servedModelName,
  type Location,
  type Submission,
  type SubmissionRules,
  type SubmittedItem,
} from './submission';

/** The only endpoint a line may target (the OpenAI batch line format names one per line). */
export const COMPLETIONS_URL = '/v1/completions';

const LINE_FIELDS = new Set(['custom_id', 'method', 'url', 'body']);
/** OpenAI completion fields this service has no equivalent for: refused, never silently ignored. */
const UNSUPPORTED = new Set([
  'n',
  'best_of',
  'logprobs',
  'echo',
  'stream',
  'stream_options',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
]);
/** Accepted and ignored: it only tags the request for abuse monitoring at OpenAI. */
const IGNORED = new Set(['user']);
/** The OpenAI names and ours that map onto generation parameters. */
const PARAM_FIELDS = new Set([...GENERATION_PARAM_NAMES, 'max_tokens']);

/** Batch options of a JSONL upload come from the query string (the body is only lines). */
export interface JsonlOptions {
  completion_window?: unknown;
  metadata?: unknown;
}

/**
 * `POST /v1/batches` with `application/x-ndjson`: one OpenAI batch line per request,
 * `{custom_id, method: "POST", url: "/v1/completions", body: {model, prompt, suffix?, max_tokens,
 * temperature, top_p, seed, stop, ...our parameters}}`. `max_tokens` is `gen_length`; a
 * `suffix` makes the line an infill with `prompt` as the prefix. Blank lines are skipped.
 * Throws one ApiError(400) listing every problem (by line number and field).
 */
export function parseJsonlSubmission(
  text: string,
  options: JsonlOptions,
  rules: SubmissionRules,
): Submission {
  const problems = new Problems();
  const lines = text.split('\n');
  let requests = 0;
  for (const line of lines) if (line.trim() !== '') requests++;
  if (requests === 0)
    problems.add({
      field: '(body)',
      message: 'no request lines (one JSON object per line expected)',
    });
  if (requests > rules.maxItems) {
    problems.add({
      field: '(body)',
      message: `at most ${rules.maxItems} lines per batch (got ${requests})`,
    });
  }
  const batch = batchOptions(options, rules, problems);
  if (problems.count > 0) problems.throwIfAny();

  const builder = new ItemBuilder(rules, problems);
  const items: SubmittedItem[] = [];
  let model: string | undefined;
  let modelLine = 0;
  lines.forEach((rawLine, i) => {
    const lineNo = i + 1;
    const source = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (source.trim() === '') return;
    const at: Location = { line: lineNo };
    let line: unknown;
    try {
      line = JSON.parse(source);
    } catch (err) {
      problems.add({
        ...at,
        field: '(line)',
        message: `not valid JSON: ${(err as Error).message}`,
      });
      return;
    }
    if (!isPlainObject(line)) {
      problems.add({
        ...at,
        field: '(line)',
        message: `must be a JSON object (got ${describe(line)})`,
      });
      return;
    }
    for (const key of Object.keys(line)) {
      if (!LINE_FIELDS.has(key))
        problems.add({
          ...at,
          field: key,
          message: 'unknown field (allowed: custom_id, method, url, body)',
        });
    }
    if (line.method !== 'POST') {
      problems.add({
        ...at,
        field: 'method',
        message: `must be "POST" (got ${JSON.stringify(line.method) ?? 'nothing'})`,
      });
    }
    if (line.url !== COMPLETIONS_URL) {
      problems.add({
        ...at,
        field: 'url',
        message: `must be "${COMPLETIONS_URL}" (got ${JSON.stringify(line.url) ?? 'nothing'})`,
      });
    }
    const body = line.body;
    if (!isPlainObject(body)) {
      problems.add({
        ...at,
        field: 'body',
        message: body === undefined ? 'is required' : `must be an object (got ${describe(body)})`,
      });
      builder.build(
        at,
        items.length,
        line.custom_id,
        'custom_id',
        undefined,
        'body.prompt',
        {},
        'body',
      );
      return;
    }
    const params: Record<string, unknown> = {};
    for (const key of Object.keys(body)) {
      if (key === 'model' || key === 'prompt' || key === 'suffix' || IGNORED.has(key)) continue;
      if (UNSUPPORTED.has(key)) {
        problems.add({ ...at, field: `body.${key}`, message: 'is not supported by this service' });
      } else if (!PARAM_FIELDS.has(key)) {
        problems.add({ ...at, field: `body.${key}`, message: 'unknown field' });
      } else if (key === 'max_tokens') {
        if (body.gen_length !== undefined) {
          problems.add({
            ...at,
            field: 'body.max_tokens',
            message: 'give max_tokens or gen_length, not both',
          });
        } else {
          params.gen_length = body.max_tokens;
        }
      } else if (key === 'stop' && typeof body.stop === 'string') {
        params.stop = [body.stop]; // OpenAI allows one stop string as a plain string
      } else {
        params[key] = body[key];
      }
    }
    if (body.model !== undefined) {
      const name = servedModelName(body.model, rules, 'body.model', at, problems);
      if (name !== undefined && model !== undefined && name !== model) {
        problems.add({
          ...at,
          field: 'body.model',
          message: `every line must name the same model (line ${modelLine} names ${model})`,
        });
      } else if (name !== undefined && model === undefined) {
        model = name;
        modelLine = lineNo;
      }
    }
    const task = lineTask(body, at, problems);
    const rename = (field: string) =>
      field === 'body.gen_length' && 'max_tokens' in body ? 'body.max_tokens' : field;
    const item = builder.build(
      at,
      items.length,
      line.custom_id,
      'custom_id',
      task,
      'body.prompt',
      params,
      'body',
      rename,
    );
    if (item) items.push(item);
  });
  problems.throwIfAny();
  return {
    model: model ?? rules.model.name,
    params: {},
    metadata: batch.metadata,
    completionWindow: batch.completionWindow,
    items,
  };
}

function lineTask(
  body: Record<string, unknown>,
  at: Location,
  problems: Problems,
): TaskText | undefined {
  const { prompt, suffix } = body;
  if (typeof prompt !== 'string') {
    problems.add({
      ...at,
      field: 'body.prompt',
      message:
        prompt === undefined
          ? 'is required'
          : Array.isArray(prompt)
            ? 'must be a string (one prompt per line; send several lines for several prompts)'
            : `must be a string (got ${describe(prompt)})`,
    });
    return undefined;
  }
  if (suffix === undefined) return { prompt };
  if (typeof suffix !== 'string') {
    problems.add({
      ...at,
      field: 'body.suffix',
      message: `must be a string (got ${describe(suffix)})`,
    });
    return undefined;
  }
  return { prefix: prompt, suffix };
}
