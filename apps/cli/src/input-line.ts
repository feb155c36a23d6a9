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
 * library names (`"gen_length": 8`). A line may name its `model`, as in a native JSONL upload;
 * here it must be the bundle being run (one run, one model).
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

/**
 * Parses and validates one line against `defaults`, on the bundle `model` (a line's `model` must
 * be its name or an alias); throws LineError naming the line and field.
 */
export function parseInputLine(
  text: string,
  line: number,
  defaults: GenerationParamsInput,
  model?: { name: string; aliases: readonly string[] },
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
  const { model: lineModel, ...fields } = obj;
  const names = model ? [model.name, ...model.aliases] : [];
  if ('model' in obj && model !== undefined && !names.includes(lineModel as string)) {
    const message = `names ${JSON.stringify(lineModel)}, but this run generates with ${model.name} (--model); name it or leave model out`;
    throw new LineError(line, formatIssues([{ field: 'model', message }]), customId);
  }
  const { item, folded } = foldTopLevelParams(model === undefined ? obj : fields);
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
