import { customIdSchema, foldTopLevelParams, itemSchema, taskOf } from '@dllm/engine/request';
import { parseJsonLine } from './jsonl-line';
import { Problems, zodProblems } from './problems';
import { schemasFor } from './schemas-for';
import {
  isPlainObject,
  ItemBuilder,
  modelNamed,
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
 * `{custom_id, prompt | prefix + suffix, model?, params?}` with any generation parameter also
 * allowed at the top level by its library name (`"gen_length": 8`, which wins over `params`).
 * Batch options come from the query, as for OpenAI lines. The model: `?model=` for the whole file,
 * or a line's `model` (every line that names one names the same, as OpenAI lines' body.model do;
 * a batch runs on one model); neither: the default model. Throws one ApiError(400) listing every
 * problem (by line and field, a top-level parameter named as written).
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
  const schemas = schemasFor(rules);
  const { model: queryModel, ...batchOptions } = options;
  const batch = schemas.options.safeParse(batchOptions);
  if (!batch.success) problems.addZod(batch.error, '');
  const fromQuery = queryModel === undefined ? undefined : schemas.model.safeParse(queryModel);
  if (fromQuery && !fromQuery.success) problems.addZod(fromQuery.error, 'model');
  problems.throwIfAny();
  const { completion_window, metadata, webhook_url } = batch.data!;

  // Every item is checked against the batch's model (its defaults, context, topology), known
  // before the lines are: the query's, else the first line's that names a served one.
  const batchModel = { name: fromQuery?.data, line: 0 };
  if (batchModel.name === undefined) {
    const first = firstModelNamed(lines, (name) => schemas.model.safeParse(name).data);
    if (first) Object.assign(batchModel, first);
  }
  const model = modelNamed(rules, batchModel.name);
  const builder = new ItemBuilder(
    rules,
    problems,
    model,
    completion_window ?? rules.defaultCompletionWindow,
  );
  const items: SubmittedItem[] = [];
  let firstLine = 0;
  /** a line's `model`: served, and the batch's; else a problem at the line */
  const lineModelAgrees = (named: unknown, lineNo: number): boolean => {
    const parsed = schemas.model.safeParse(named);
    if (!parsed.success) {
      problems.addZod(parsed.error, 'model', { line: lineNo });
      return false;
    }
    if (parsed.data === model.name) return true;
    problems.add({
      line: lineNo,
      field: 'model',
      message:
        batchModel.line === 0
          ? `names ${JSON.stringify(parsed.data)}, but the batch's model is ${JSON.stringify(model.name)} (the model query parameter); a batch runs on one model`
          : `every line must name the same model (line ${batchModel.line} names ${model.name})`,
    });
    return false;
  };
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
    const { model: lineModel, ...fields } = raw;
    if ('model' in raw && !lineModelAgrees(lineModel, lineNo)) {
      if (customIdSchema.safeParse(raw.custom_id).success) {
        builder.claimCustomId(raw.custom_id as string, at, items.length);
      }
      return;
    }
    const { item, folded } = foldTopLevelParams(fields);
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

/**
 * The first line naming a served model (top-level `model`), read cheaply ahead of the full pass;
 * undefined when none does. Lines that do not parse, or name no served model, are left to the
 * full pass to report.
 */
function firstModelNamed(
  lines: readonly string[],
  served: (name: unknown) => string | undefined,
): { name: string; line: number } | undefined {
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '' || !line.includes('"model"')) continue;
    try {
      const value = JSON.parse(line) as unknown;
      const name = isPlainObject(value) ? served(value.model) : undefined;
      if (name !== undefined) return { name, line: i + 1 };
    } catch {
      // reported by the full pass
    }
  }
  return undefined;
}
