import { generationParamsSchema } from '@dllm/engine/params';
import type { TaskText } from './prompt-budget';
import { Problems, zodProblems } from './problems';
import {
  batchOptions,
  describe,
  isPlainObject,
  ItemBuilder,
  type Location,
  type Submission,
  type SubmissionRules,
  type SubmittedItem,
} from './submission';

const BATCH_FIELDS = new Set(['model', 'params', 'metadata', 'completion_window', 'items']);
const ITEM_FIELDS = new Set(['custom_id', 'prompt', 'prefix', 'suffix', 'params']);

/**
 * `POST /v1/batches` with `application/json`:
 * `{model?, params?, metadata?, completion_window?, items: [{custom_id, prompt | prefix + suffix, params?}]}`.
 * Item parameters are merged over the batch's `params`, then validated in full.
 * Throws one ApiError(400) listing every problem (by item index and field).
 */
export function parseJsonSubmission(body: unknown, rules: SubmissionRules): Submission {
  const problems = new Problems();
  if (!isPlainObject(body)) {
    problems.add({
      field: '(root)',
      message: `the body must be a JSON object (got ${describe(body)})`,
    });
    problems.throwIfAny();
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!BATCH_FIELDS.has(key)) {
      problems.add({
        field: key,
        message: `unknown field (allowed: ${[...BATCH_FIELDS].join(', ')})`,
      });
    }
  }
  const options = batchOptions(input, rules, problems);

  let defaults: Record<string, unknown> = {};
  let defaultsValid = true;
  if (input.params !== undefined) {
    if (!isPlainObject(input.params)) {
      problems.add({
        field: 'params',
        message: `must be an object (got ${describe(input.params)})`,
      });
      defaultsValid = false;
    } else {
      defaults = input.params;
      const parsed = generationParamsSchema.safeParse(defaults);
      if (!parsed.success) {
        for (const p of zodProblems(parsed.error, 'params', {})) problems.add(p);
        defaultsValid = false;
      }
    }
  }

  const items = input.items;
  if (!Array.isArray(items)) {
    problems.add({
      field: 'items',
      message:
        items === undefined
          ? 'is required (a list of items)'
          : `must be an array (got ${describe(items)})`,
    });
  } else if (items.length === 0) {
    problems.add({ field: 'items', message: 'must hold at least 1 item' });
  } else if (items.length > rules.maxItems) {
    problems.add({
      field: 'items',
      message: `at most ${rules.maxItems} items per batch (got ${items.length})`,
    });
  }
  // Item parameters are only checked over valid defaults (one bad default would repeat per item).
  if (
    problems.count > 0 &&
    (!Array.isArray(items) || items.length > rules.maxItems || !defaultsValid)
  ) {
    problems.throwIfAny();
  }

  const builder = new ItemBuilder(rules, problems);
  const accepted: SubmittedItem[] = new Array<SubmittedItem>((items as unknown[]).length);
  (items as unknown[]).forEach((raw, index) => {
    const at: Location = { index };
    if (!isPlainObject(raw)) {
      problems.add({
        ...at,
        field: '(item)',
        message: `each item must be an object (got ${describe(raw)})`,
      });
      return;
    }
    for (const key of Object.keys(raw)) {
      if (!ITEM_FIELDS.has(key)) {
        problems.add({
          ...at,
          field: key,
          message: `unknown field (allowed: ${[...ITEM_FIELDS].join(', ')})`,
        });
      }
    }
    let params = defaults;
    if (raw.params !== undefined) {
      if (isPlainObject(raw.params)) params = { ...defaults, ...raw.params };
      else
        problems.add({
          ...at,
          field: 'params',
          message: `must be an object (got ${describe(raw.params)})`,
        });
    }
    const task = itemTask(raw, at, problems);
    const item = builder.build(
      at,
      index,
      raw.custom_id,
      'custom_id',
      task.task,
      task.field,
      params,
      'params',
    );
    if (item) accepted[index] = item;
  });
  problems.throwIfAny();
  return {
    model: options.model ?? rules.model.name,
    params: defaults,
    metadata: options.metadata,
    completionWindow: options.completionWindow,
    items: accepted,
  };
}

/** `prompt` alone (continuation) or `prefix` + `suffix` (infill). */
function itemTask(
  raw: Record<string, unknown>,
  at: Location,
  problems: Problems,
): { task: TaskText | undefined; field: string } {
  const has = (key: string) => raw[key] !== undefined;
  for (const key of ['prompt', 'prefix', 'suffix']) {
    if (has(key) && typeof raw[key] !== 'string') {
      problems.add({ ...at, field: key, message: `must be a string (got ${describe(raw[key])})` });
      return { task: undefined, field: key };
    }
  }
  if (has('prompt') && (has('prefix') || has('suffix'))) {
    problems.add({
      ...at,
      field: 'prompt',
      message: 'give either prompt, or prefix and suffix (infill), not both',
    });
    return { task: undefined, field: 'prompt' };
  }
  if (has('prompt')) return { task: { prompt: raw.prompt as string }, field: 'prompt' };
  if (has('prefix') && has('suffix')) {
    return {
      task: { prefix: raw.prefix as string, suffix: raw.suffix as string },
      field: 'prefix',
    };
  }
  if (has('prefix') || has('suffix')) {
    const missing = has('prefix') ? 'suffix' : 'prefix';
    problems.add({
      ...at,
      field: missing,
      message: 'is required with ' + (missing === 'suffix' ? 'prefix' : 'suffix') + ' (infill)',
    });
    return { task: undefined, field: missing };
  }
  problems.add({
    ...at,
    field: 'prompt',
    message: 'is required (or prefix and suffix for infill)',
  });
  return { task: undefined, field: 'prompt' };
}
