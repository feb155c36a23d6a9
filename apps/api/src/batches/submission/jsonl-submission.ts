import { customIdSchema, describeValue } from '@dllm/engine/request';
import { z } from 'zod';
import { openAiTask, type LineBodyRest } from './openai-request';
import {
  detectJsonlFormat,
  NATIVE_TO_OPENAI_HINT,
  parseNativeJsonlSubmission,
} from './native-jsonl-submission';
import { Problems } from './problems';
import { schemasFor } from './schemas-for';
import { parseJsonLine } from './jsonl-line';
import {
  ItemBuilder,
  modelNamed,
  OPENAI_ENDPOINTS,
  type Location,
  type OpenAiEndpoint,
  type Submission,
  type SubmissionRules,
  type SubmittedItem,
} from './submission';

/** Batch options of a JSONL batch: the query of an upload, or the fields of an OpenAI create. */
export interface JsonlOptions {
  /** native item lines only (`?model=`): OpenAI lines name theirs in body.model */
  model?: unknown;
  completion_window?: unknown;
  metadata?: unknown;
  webhook_url?: unknown;
}

const quoted = (value: unknown) => JSON.stringify(value) ?? 'nothing';
const endpoints = OPENAI_ENDPOINTS.map((e) => `"${e}"`).join(' or ');

/** One line of an OpenAI batch input file; its body is checked by its endpoint's schema. */
const lineSchema = z.strictObject(
  {
    custom_id: customIdSchema,
    method: z.literal('POST', { error: (iss) => `must be "POST" (got ${quoted(iss.input)})` }),
    url: z.enum(OPENAI_ENDPOINTS, {
      error: (iss) => `must be ${endpoints} (got ${quoted(iss.input)})`,
    }),
    body: z.record(z.string(), z.unknown(), {
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : `must be an object (got ${describeValue(iss.input)})`,
    }),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? 'unknown field (allowed: custom_id, method, url, body)'
        : undefined,
  },
);

/**
 * A JSONL batch. Native item lines (see native-jsonl-submission.ts) are accepted when no
 * `endpoint` binds the file to an OpenAI batch. Otherwise an OpenAI batch input file: one line per request, `{custom_id, method: "POST", url, body}`,
 * `url` one of /v1/completions (body: `{model, prompt, suffix?, max_tokens, ...}`) or
 * /v1/chat/completions (body: `{model, messages, max_tokens, ...}`), the same for every line
 * (and equal to `endpoint` when the batch names one). Blank lines are skipped.
 * Throws one ApiError(400) listing every problem (by line number and field).
 */
export function parseJsonlSubmission(
  text: string,
  options: JsonlOptions,
  rules: SubmissionRules,
  endpoint?: OpenAiEndpoint,
): Submission {
  const problems = new Problems();
  const schemas = schemasFor(rules);
  const lines = text.split('\n');
  if (detectJsonlFormat(lines) === 'native') {
    // POST /v1/batches takes the `dllm generate` format too; a batch from an input file is an
    // OpenAI batch, whose output files answer OpenAI lines: say what it expects and how to convert.
    if (endpoint === undefined) return parseNativeJsonlSubmission(text, options, rules);
    problems.add({
      line: lines.findIndex((l) => l.trim() !== '') + 1,
      field: '(line)',
      message: `is a native item ({custom_id, prompt | prefix + suffix}, the dllm generate format); a batch from input_file_id takes OpenAI batch lines {custom_id, method: "POST", url, body}: submit this file to POST /v1/batches as application/x-ndjson (dllm submit does), or ${NATIVE_TO_OPENAI_HINT}`,
    });
    problems.throwIfAny();
  }
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
  const { model: queryModel, ...batchOptions } = options;
  if (queryModel !== undefined) {
    problems.add({
      field: 'model',
      message:
        'the model query parameter applies to native item lines; OpenAI batch lines name their model in body.model',
    });
  }
  const batch = schemas.options.safeParse(batchOptions);
  if (!batch.success) problems.addZod(batch.error, '');
  if (problems.count > 0) problems.throwIfAny();

  const window = batch.data?.completion_window ?? rules.defaultCompletionWindow;
  // Every item is checked against the batch's model, which the first line naming one gives.
  const named = schemas.model.safeParse(firstModelNamed(lines));
  const batchModel = modelNamed(rules, named.success ? named.data : undefined);
  const builder = new ItemBuilder(rules, problems, batchModel, window);
  const bodyCache = new Map<string, LineBodyRest>();
  const items: SubmittedItem[] = [];
  let model: string | undefined;
  let modelLine = 0;
  let target: { url: OpenAiEndpoint; line: number } | undefined = endpoint && {
    url: endpoint,
    line: 0,
  };
  lines.forEach((rawLine, i) => {
    const lineNo = i + 1;
    const source = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (source.trim() === '') return;
    const at: Location = { line: lineNo };
    const raw = parseJsonLine(source, at, rules.maxJsonDepth, problems);
    if (!raw) return;
    const line = lineSchema.safeParse(raw);
    if (!line.success) {
      problems.addZod(line.error, '', at);
      if (customIdSchema.safeParse(raw.custom_id).success) {
        builder.claimCustomId(raw.custom_id as string, at, items.length);
      }
      return;
    }
    const { custom_id: customId, url, body: rawBody } = line.data;
    let lineOk = true;
    if (target && url !== target.url) {
      lineOk = false;
      problems.add({
        ...at,
        field: 'url',
        message:
          target.line === 0
            ? `must be "${target.url}", the batch's endpoint (got "${url}")`
            : `every line must target the same endpoint (line ${target.line} targets ${target.url})`,
      });
    }
    target ??= { url, line: lineNo };
    const check =
      url === '/v1/chat/completions' ? schemas.openai.chatLine : schemas.openai.completionLine;
    const body = check.check(rawBody, 'body', bodyCache);
    if (body.issues.length > 0) {
      for (const issue of body.issues) problems.add({ ...at, ...issue });
      lineOk = false;
    } else if (body.model !== undefined) {
      if (model !== undefined && body.model !== model) {
        lineOk = false;
        problems.add({
          ...at,
          field: 'body.model',
          message: `every line must name the same model (line ${modelLine} names ${model})`,
        });
      } else if (model === undefined) {
        model = body.model;
        modelLine = lineNo;
      }
    }
    if (!builder.claimCustomId(customId, at, items.length) || !lineOk) return;
    const made = openAiTask(url, rawBody, 'body', batchModel);
    if ('problem' in made) {
      problems.add({ ...at, ...made.problem });
      return;
    }
    const { task, taskField } = made;
    const item = builder.build(
      at,
      customId,
      task,
      taskField,
      body.params!,
      'body',
      body.rename,
      body.paramsKey,
    );
    if (item) items.push(item);
  });
  problems.throwIfAny();
  return {
    model: batchModel.name,
    params: {},
    metadata: batch.data!.metadata ?? {},
    completionWindow: batch.data!.completion_window ?? rules.defaultCompletionWindow,
    webhookUrl: batch.data!.webhook_url ?? null,
    endpoint: target?.url ?? '/v1/completions',
    items,
  };
}

/**
 * body.model of the first line that names one (a string), parsed cheaply ahead of the full pass;
 * undefined when no line does. Lines that do not parse are left to the full pass to report.
 */
function firstModelNamed(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    if (line.trim() === '' || !line.includes('"model"')) continue;
    try {
      const body = (JSON.parse(line) as { body?: { model?: unknown } } | null)?.body;
      if (body && typeof body.model === 'string') return body.model;
    } catch {
      // reported by the full pass
    }
  }
  return undefined;
}
