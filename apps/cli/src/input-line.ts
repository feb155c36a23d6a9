import { generationParamsSchema, type GenerationParamsInput } from '@dllm/engine/params';
import {
  foldTopLevelParams,
  formatIssues,
  itemSchema,
  taskOf,
  zodIssues,
  type FieldIssue,
  type GenerationTask,
} from '@dllm/engine/request';

/**
 * One JSONL input line: an item of the API's batches (`{custom_id, prompt | prefix + suffix,
 * params?}`, the same schema), where parameters may also stand at the top level by their
 * library names (`"gen_length": 8`).
 */
export interface ParsedLine {
  customId: string;
  task: GenerationTask;
  params: GenerationParamsInput;
}

export class LineError extends Error {
  constructor(
    readonly line: number,
    message: string,
    readonly customId?: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Parses and validates one line against `defaults`; throws LineError naming the line and field. */
export function parseInputLine(
  text: string,
  line: number,
  defaults: GenerationParamsInput,
): ParsedLine {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LineError(line, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new LineError(line, 'must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const customId = typeof obj.custom_id === 'string' ? obj.custom_id : undefined;
  const { item, folded } = foldTopLevelParams(obj);
  // a folded parameter is named as the user wrote it: "gen_length", not "params.gen_length"
  const named = (issues: FieldIssue[]): FieldIssue[] =>
    issues.map((i) => {
      const key = i.field.replace(/^params\./, '');
      return folded.has(key.split('.')[0]!) ? { ...i, field: key } : i;
    });
  const fail = (issues: FieldIssue[]) => new LineError(line, formatIssues(named(issues)), customId);

  const shape = itemSchema.safeParse(item);
  if (!shape.success) throw fail(zodIssues(shape.error));
  const task = taskOf(shape.data);
  if ('message' in task) throw fail([task]); // refineTask already refused these; for the types
  const params = { ...defaults, ...shape.data.params };
  const p = generationParamsSchema.safeParse(params);
  if (!p.success) throw fail(zodIssues(p.error, 'params'));
  return { customId: shape.data.custom_id, task: task.task, params };
}
