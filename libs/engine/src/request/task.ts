import { z } from 'zod';
import { describeValue } from './issues';

/** What to generate: text after a prompt, or the middle between a prefix and a suffix. */
export type GenerationTask =
  | {
      prompt: string;
      /** the prompt is a model's chat template's output: its special-token texts are tokens */
      chat?: boolean;
    }
  | { prefix: string; suffix: string };

const text = (what: string) =>
  z
    .string({ error: (iss) => `must be a string (got ${describeValue(iss.input)})` })
    .optional()
    .describe(what);

/** The fields of an item that say what to generate: `prompt` alone, or `prefix` + `suffix`. */
export const taskShape = {
  prompt: text('continue this text'),
  prefix: text('infill: text before the gap (with suffix)'),
  suffix: text('infill: text after the gap (with prefix)'),
};

type TaskFields = { prompt?: unknown; prefix?: unknown; suffix?: unknown };

/**
 * The task of fields that passed `taskShape`, or the problem with them (field + message):
 * a prompt, or a prefix with its suffix, never both and never neither.
 */
export function taskOf(
  fields: TaskFields,
): { task: GenerationTask } | { field: 'prompt' | 'prefix' | 'suffix'; message: string } {
  const { prompt, prefix, suffix } = fields;
  if (prompt !== undefined && (prefix !== undefined || suffix !== undefined)) {
    return {
      field: 'prompt',
      message: 'give either prompt, or prefix and suffix (infill), not both',
    };
  }
  if (prompt !== undefined) return { task: { prompt: prompt as string } };
  if (prefix !== undefined && suffix !== undefined) {
    return { task: { prefix: prefix as string, suffix: suffix as string } };
  }
  if (prefix !== undefined) return { field: 'suffix', message: 'is required with prefix (infill)' };
  if (suffix !== undefined) return { field: 'prefix', message: 'is required with suffix (infill)' };
  return { field: 'prompt', message: 'is required (or prefix and suffix for infill)' };
}

/**
 * The task rule as a zod refinement; it runs even when other fields failed, so one answer lists
 * every problem. Fields of the wrong type are left to their own issue.
 */
export function refineTask(fields: TaskFields, ctx: z.RefinementCtx): void {
  if (typeof fields !== 'object' || fields === null) return;
  for (const key of ['prompt', 'prefix', 'suffix'] as const) {
    if (fields[key] !== undefined && typeof fields[key] !== 'string') return;
  }
  const r = taskOf(fields);
  if ('message' in r) ctx.addIssue({ code: 'custom', path: [r.field], message: r.message });
}
