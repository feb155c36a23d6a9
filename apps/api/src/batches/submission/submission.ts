import { generationParamsSchema, type GenerationParams } from '@dllm/engine/params';
import type { ProblemDetail } from '../../common/api-error';
import type { PromptBudget, TaskText } from './prompt-budget';
import { Problems, zodProblems } from './problems';

/** One validated item, ready to insert. */
export interface SubmittedItem {
  customId: string;
  task: TaskText;
  params: GenerationParams;
  /** `params` serialised once (100,000 items share few distinct values) */
  paramsJson: string;
}

/** A fully validated batch: nothing in it can be refused later. */
export interface Submission {
  model: string;
  /** batch-level default parameters as given (already validated) */
  params: Record<string, unknown>;
  metadata: Record<string, string>;
  /** seconds */
  completionWindow: number;
  items: SubmittedItem[];
}

/** What a submission is checked against (configuration and the served model). */
export interface SubmissionRules {
  maxItems: number;
  defaultCompletionWindow: number;
  maxCompletionWindow: number;
  model: { name: string; aliases: readonly string[]; maxLength: number; needsPrompt: boolean };
  budget: PromptBudget;
}

export const MAX_CUSTOM_ID = 64;
export const MIN_COMPLETION_WINDOW = 60;
export const METADATA_LIMITS = { keys: 16, keyLength: 64, valueLength: 512 } as const;

/** Where a problem is: an item index or a line number; `field` is relative to that. */
export type Location = Pick<ProblemDetail, 'index' | 'line'>;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Checks and normalises the batch-level fields both body formats share, adding problems
 * (with no index or line) for what is wrong.
 */
export function batchOptions(
  input: { model?: unknown; completion_window?: unknown; metadata?: unknown },
  rules: SubmissionRules,
  problems: Problems,
): { model: string | undefined; completionWindow: number; metadata: Record<string, string> } {
  return {
    model:
      input.model === undefined
        ? undefined
        : servedModelName(input.model, rules, 'model', {}, problems),
    completionWindow: completionWindow(input.completion_window, rules, problems),
    metadata: metadata(input.metadata, problems),
  };
}

/** The canonical model name, or a problem when the model is not the one served here. */
export function servedModelName(
  value: unknown,
  rules: SubmissionRules,
  field: string,
  at: Location,
  problems: Problems,
): string | undefined {
  const { name, aliases } = rules.model;
  if (typeof value !== 'string') {
    problems.add({ ...at, field, message: `must be a string (got ${describe(value)})` });
    return undefined;
  }
  if (value === name || aliases.includes(value)) return name;
  problems.add({
    ...at,
    field,
    message: `model ${JSON.stringify(value)} is not served here; available: ${name}`,
  });
  return undefined;
}

/** Seconds from a number, or a duration string such as "24h", "90m", "3600s", "2d". */
function completionWindow(value: unknown, rules: SubmissionRules, problems: Problems): number {
  if (value === undefined) return rules.defaultCompletionWindow;
  let seconds: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) seconds = value;
  if (typeof value === 'string') {
    const match = /^(\d{1,9})\s*([smhd]?)$/.exec(value.trim());
    if (match)
      seconds =
        Number(match[1]) *
        { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  }
  const range = `${MIN_COMPLETION_WINDOW} to ${rules.maxCompletionWindow} seconds`;
  if (seconds === undefined) {
    problems.add({
      field: 'completion_window',
      message: `must be a whole number of seconds or a duration such as "24h" (${range})`,
    });
    return rules.defaultCompletionWindow;
  }
  if (seconds < MIN_COMPLETION_WINDOW || seconds > rules.maxCompletionWindow) {
    problems.add({ field: 'completion_window', message: `${seconds} seconds is outside ${range}` });
  }
  return seconds;
}

function metadata(value: unknown, problems: Problems): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    problems.add({
      field: 'metadata',
      message: `must be an object of string values (got ${describe(value)})`,
    });
    return {};
  }
  const keys = Object.keys(value);
  if (keys.length > METADATA_LIMITS.keys) {
    problems.add({
      field: 'metadata',
      message: `at most ${METADATA_LIMITS.keys} keys (got ${keys.length})`,
    });
  }
  for (const key of keys) {
    const v = value[key];
    if (key.length === 0 || key.length > METADATA_LIMITS.keyLength) {
      problems.add({
        field: `metadata.${key}`,
        message: `keys are 1 to ${METADATA_LIMITS.keyLength} characters`,
      });
    }
    if (typeof v !== 'string') {
      problems.add({ field: `metadata.${key}`, message: `must be a string (got ${describe(v)})` });
    } else if (v.length > METADATA_LIMITS.valueLength) {
      problems.add({
        field: `metadata.${key}`,
        message: `at most ${METADATA_LIMITS.valueLength} characters (got ${v.length})`,
      });
    }
  }
  return value as Record<string, string>;
}

/**
 * Builds one item from its parts, adding every problem found. `params` are the raw parameters,
 * already merged over any batch defaults; `rename` maps a parameter path back to the name the
 * user wrote (e.g. gen_length -> body.max_tokens).
 */
export class ItemBuilder {
  private readonly seenIds = new Map<string, number>();
  /** Raw-params JSON -> validated params, so identical parameter sets are validated once. */
  private readonly paramsCache = new Map<
    string,
    { params: GenerationParams; json: string } | ProblemDetail[]
  >();

  constructor(
    private readonly rules: SubmissionRules,
    private readonly problems: Problems,
  ) {}

  build(
    at: Location,
    position: number,
    customId: unknown,
    customIdField: string,
    task: TaskText | undefined,
    taskField: string,
    params: Record<string, unknown>,
    paramsField: string,
    rename?: (field: string) => string,
  ): SubmittedItem | undefined {
    const before = this.problems.count;
    const id = this.customId(customId, customIdField, at, position);
    const validated = this.params(params, paramsField, at, rename);
    if (task && validated) {
      if ('prompt' in task && task.prompt.length === 0 && this.rules.model.needsPrompt) {
        this.problems.add({ ...at, field: taskField, message: 'must not be empty for this model' });
      }
      const genLength = validated.params.gen_length;
      if (genLength > this.rules.model.maxLength) {
        this.problems.add({
          ...at,
          field: (rename ?? ((f: string) => f))(`${paramsField}.gen_length`),
          message: `must be <= the model's max length ${this.rules.model.maxLength}`,
        });
      } else {
        const tooLong = this.rules.budget.check(task, genLength);
        if (tooLong) this.problems.add({ ...at, field: taskField, message: tooLong });
      }
    }
    if (this.problems.count > before || id === undefined || !task || !validated) return undefined;
    return { customId: id, task, params: validated.params, paramsJson: validated.json };
  }

  private customId(
    value: unknown,
    field: string,
    at: Location,
    position: number,
  ): string | undefined {
    if (typeof value !== 'string' || value.length < 1 || value.length > MAX_CUSTOM_ID) {
      this.problems.add({
        ...at,
        field,
        message:
          typeof value === 'string'
            ? `must be 1 to ${MAX_CUSTOM_ID} characters (got ${value.length})`
            : value === undefined
              ? 'is required'
              : `must be a string (got ${describe(value)})`,
      });
      return undefined;
    }
    const first = this.seenIds.get(value);
    if (first !== undefined) {
      const where = at.line !== undefined ? `line ${first}` : `items[${first}]`;
      this.problems.add({
        ...at,
        field,
        message: `duplicate custom_id ${JSON.stringify(value)} (first used at ${where})`,
      });
      return undefined;
    }
    this.seenIds.set(value, at.line ?? position);
    return value;
  }

  private params(
    raw: Record<string, unknown>,
    field: string,
    at: Location,
    rename?: (field: string) => string,
  ): { params: GenerationParams; json: string } | undefined {
    const key = JSON.stringify(raw);
    let result = this.paramsCache.get(key);
    if (result === undefined) {
      const parsed = generationParamsSchema.safeParse(raw);
      result = parsed.success
        ? { params: parsed.data, json: JSON.stringify(parsed.data) }
        : zodProblems(parsed.error, field, {}, rename);
      // Bounded: a batch of all-different parameters must not grow this without limit.
      if (this.paramsCache.size < 10_000) this.paramsCache.set(key, result);
    }
    if (Array.isArray(result)) {
      for (const problem of result) this.problems.add({ ...at, ...problem });
      return undefined;
    }
    return result;
  }
}
