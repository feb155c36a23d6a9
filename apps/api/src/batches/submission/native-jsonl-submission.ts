import { customIdSchema, foldTopLevelParams, itemSchema, taskOf } from '@dllm/engine/request';
import { parseJsonLine } from './jsonl-line';
import { Problems, zodProblems } from './problems';
import { schemasFor } from './schemas-for';
import {
  isPlainObject,
  ItemBuilder,
  type Location,
  type Submission,
  type SubmissionRules,
  type SubmittedItem,
} from './submission';
import type { JsonlOptions } from './jsonl-submission';

/** Fields only an OpenAI batch line has. */
export const OPENAI_LINE_FIELDS = ['method', 'url', 'body'] as const;
/** Fields only a native item line has. */
const NATIVE_TASK_FIELDS = ['prompt', 'prefix', 'suffix'] as const;

export type JsonlFormat = 'openai' | 'native';

/** How to turn a native line into an OpenAI one, for messages that refuse a format. */
export const NATIVE_TO_OPENAI_HINT =
  'wrap each line as {"custom_id": ..., "method": "POST", "url": "/v1/completions", "body": {"prompt": ..., "max_tokens": ...}}';

/**
 * Which JSONL format a file is in, from its first line that is a JSON object: OpenAI batch lines
 * (`{custom_id, method, url, body}`) or native items as `dllm generate` reads them
 * (`{custom_id, prompt | prefix + suffix, ...parameters}`). A line with neither's fields counts
 * as OpenAI, the documented format, whose errors then name what is missing.
 */
export function detectJsonlFormat(lines: readonly string[]): JsonlFormat {
  for (const raw of lines) {
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue;
    }
    if (!isPlainObject(value)) continue;
    if (OPENAI_LINE_FIELDS.some((f) => f in value)) return 'openai';
    return NATIVE_TASK_FIELDS.some((f) => f in value) ? 'native' : 'openai';
  }
  return 'openai';
}

/**
 * A JSONL body of native items, one per line, the input format of `dllm generate`:
 * `{custom_id, prompt | prefix + suffix, params?}` with any generation parameter also allowed at
 * the top level by its library name (`"gen_length": 8`, which wins over `params`). Batch options
 * come from the query, as for OpenAI lines. Throws one ApiError(400) listing every problem (by
 * line and field, a top-level parameter named as written).
 */
export function parseNativeJsonlSubmission(
  text: string,
  options: JsonlOptions,
  rules: SubmissionRules,
): Submission {
  const problems = new Problems();
  const lines = text.split('\n');
  const requests = lines.filter((l) => l.trim() !== '').length;
  if (requests > rules.maxItems) {
    problems.add({
      field: '(body)',
      message: `at most ${rules.maxItems} lines per batch (got ${requests})`,
    });
  }
  const batch = schemasFor(rules).options.safeParse(options);
  if (!batch.success) problems.addZod(batch.error, '');
  problems.throwIfAny();
  const { completion_window, metadata, webhook_url } = batch.data!;

  // native lines name no model: they run on the default one (a JSON body's `model` picks another)
  const model = rules.models[0];
  const builder = new ItemBuilder(
    rules,
    problems,
    model,
    completion_window ?? rules.defaultCompletionWindow,
  );
  const items: SubmittedItem[] = [];
  let firstLine = 0;
  lines.forEach((rawLine, i) => {
    const lineNo = i + 1;
    const source = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (source.trim() === '') return;
    firstLine ||= lineNo;
    const at: Location = { line: lineNo };
    const raw = parseJsonLine(source, at, rules.maxJsonDepth, problems);
    if (!raw) return;
    const openAiField = OPENAI_LINE_FIELDS.find((f) => f in raw);
    if (openAiField) {
      problems.add({
        ...at,
        field: openAiField,
        message: `mixes formats: line ${firstLine} is a native item ({custom_id, prompt | prefix + suffix}), this line is an OpenAI batch request; give one format per file`,
      });
      return;
    }
    const { item, folded } = foldTopLevelParams(raw);
    // a folded parameter is named as the user wrote it: "gen_length", not "params.gen_length"
    const rename = (field: string): string => {
      const key = field.replace(/^params\./, '');
      return folded.has(key.split('.')[0]!) ? key : field;
    };
    const shape = itemSchema.safeParse(item);
    if (!shape.success) {
      for (const p of zodProblems(shape.error, '', at, rename)) problems.add(p);
      if (customIdSchema.safeParse(raw.custom_id).success) {
        builder.claimCustomId(raw.custom_id as string, at, items.length);
      }
      return;
    }
    const task = taskOf(shape.data);
    if ('message' in task || !builder.claimCustomId(shape.data.custom_id, at, items.length)) return;
    const field = 'prompt' in task.task ? 'prompt' : 'prefix';
    const params = shape.data.params ?? {};
    const built = builder.build(
      at,
      shape.data.custom_id,
      task.task,
      field,
      params,
      'params',
      rename,
    );
    if (built) items.push(built);
  });
  problems.throwIfAny();
  return {
    model: model.name,
    params: {},
    metadata: metadata ?? {},
    completionWindow: completion_window ?? rules.defaultCompletionWindow,
    webhookUrl: webhook_url ?? null,
    endpoint: null,
    items,
  };
}
