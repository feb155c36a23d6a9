import { customIdSchema, describeValue, itemSchema, taskOf } from '@dllm/engine/request';
import { schemasFor } from './schemas-for';
import { Problems } from './problems';
import {
  isPlainObject,
  ItemBuilder,
  modelNamed,
  type Submission,
  type SubmissionRules,
  type SubmittedItem,
} from './submission';

/**
 * `POST /v1/batches` with `application/json`:
 * `{model?, params?, metadata?, completion_window?, webhook_url?, items: [{custom_id, prompt |
 * prefix + suffix, params?}]}`, checked against the batch schema (batch-schema.ts). Item
 * parameters are merged over the batch's `params`, then validated in full.
 * Throws one ApiError(400) listing every problem (by item index and field).
 */
export function parseJsonSubmission(body: unknown, rules: SubmissionRules): Submission {
  const problems = new Problems();
  const schemas = schemasFor(rules);
  const parsed = schemas.envelope.safeParse(body);
  if (!parsed.success) {
    problems.addZod(parsed.error, '');
    const items = isPlainObject(body) ? body.items : undefined;
    const defaultsValid = !parsed.error.issues.some((i) => i.path[0] === 'params');
    // Item parameters are only checked over valid defaults (one bad default would repeat per item).
    if (!Array.isArray(items) || items.length > rules.maxItems || !defaultsValid) {
      problems.throwIfAny();
    }
  }
  const input = body as Record<string, unknown>;
  const defaults = (input.params ?? {}) as Record<string, unknown>;
  const items = input.items as unknown[];

  const window = parsed.success ? parsed.data.completion_window : undefined;
  // an unknown model is already a problem; the items are still checked, against the default
  const named = schemas.model.safeParse(input.model);
  const model = modelNamed(rules, named.success ? named.data : undefined);
  const builder = new ItemBuilder(rules, problems, model, window ?? rules.defaultCompletionWindow);
  const accepted: SubmittedItem[] = new Array<SubmittedItem>(items.length);
  items.forEach((raw, index) => {
    const at = { index };
    if (!isPlainObject(raw)) {
      problems.add({
        ...at,
        field: '(item)',
        message: `each item must be an object (got ${describeValue(raw)})`,
      });
      return;
    }
    const item = itemSchema.safeParse(raw);
    if (!item.success) {
      problems.addZod(item.error, '', at);
      // a duplicate id is worth reporting even on an item with other problems
      if (customIdSchema.safeParse(raw.custom_id).success) {
        builder.claimCustomId(raw.custom_id as string, at, index);
      }
      return;
    }
    const task = taskOf(item.data);
    if ('message' in task || !builder.claimCustomId(item.data.custom_id, at, index)) return;
    const field = 'prompt' in task.task ? 'prompt' : 'prefix';
    const params = { ...defaults, ...item.data.params };
    const built = builder.build(at, item.data.custom_id, task.task, field, params, 'params');
    if (built) accepted[index] = built;
  });
  problems.throwIfAny();
  const data = parsed.data!;
  return {
    model: model.name,
    params: defaults,
    metadata: data.metadata ?? {},
    completionWindow: data.completion_window ?? rules.defaultCompletionWindow,
    webhookUrl: data.webhook_url ?? null,
    endpoint: null,
    items: accepted,
  };
}
