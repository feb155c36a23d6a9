import {
  generationParamsSchema,
  withModelDefaults,
  type GenerationParams,
  type ModelParamDefaults,
} from '@dllm/engine/params';
import {
  modelParamsProblem,
  parseDeadline,
  type GenerationTask,
  type ModelShape,
  type PromptBudget,
} from '@dllm/engine/request';
import type { ProblemDetail } from '../../common/api-error';
import type { ChatMessage } from './chat-template';
import { Problems, zodProblems } from './problems';

/** One validated item, ready to insert. */
export interface SubmittedItem {
  customId: string;
  task: GenerationTask;
  params: GenerationParams;
  /** `params` serialised once (100,000 items share few distinct values) */
  paramsJson: string;
}

/** The OpenAI endpoints a batch line (and a batch created from a file) may target. */
export const OPENAI_ENDPOINTS = ['/v1/completions', '/v1/chat/completions'] as const;
export type OpenAiEndpoint = (typeof OPENAI_ENDPOINTS)[number];

/** A fully validated batch: nothing in it can be refused later. */
export interface Submission {
  model: string;
  /** batch-level default parameters as given (already validated) */
  params: Record<string, unknown>;
  metadata: Record<string, string>;
  /** seconds */
  completionWindow: number;
  /** where to POST the signed notice when the batch ends */
  webhookUrl: string | null;
  /** the OpenAI endpoint its lines target (OpenAI batch lines only) */
  endpoint: OpenAiEndpoint | null;
  items: SubmittedItem[];
}

/** What an item is checked against for one model of the catalog. */
export interface SubmissionModel {
  name: string;
  aliases: readonly string[];
  /** prompt tokens + gen_length must fit in this */
  maxLength: number;
  /** shifted-logits models cannot continue an empty prompt */
  needsPrompt: boolean;
  budget: PromptBudget;
  /** the model's generation defaults, under a request's own values (dllm.json `defaults`) */
  defaults?: ModelParamDefaults;
  /** kind and topology: which requests it can run at all (none: a bidirectional diffusion model) */
  shape?: ModelShape;
  /**
   * A conversation as this model's prompt (its chat template; none: the bundled model's own
   * python-file rendering). Throws a ChatTemplateError with a message for the user.
   */
  chat?: (messages: readonly ChatMessage[]) => { prompt: string; chat: boolean };
}

/** What a submission is checked against (configuration and the model catalog). */
export interface SubmissionRules {
  maxItems: number;
  /** deepest nesting a JSON body or JSONL line may have (JSON_MAX_DEPTH) */
  maxJsonDepth: number;
  defaultCompletionWindow: number;
  maxCompletionWindow: number;
  /** URL prefixes a batch's webhook_url may start with (empty: webhooks are off) */
  webhookAllowedUrls: readonly string[];
  /** every model served here; the first is the default (MODEL_DIR) */
  models: readonly [SubmissionModel, ...SubmissionModel[]];
}

/** The catalog model a request names (by name or alias); none named: the default. */
export function modelNamed(rules: SubmissionRules, name: string | undefined): SubmissionModel {
  if (name === undefined) return rules.models[0];
  return rules.models.find((m) => m.name === name || m.aliases.includes(name)) ?? rules.models[0];
}

/** Where a problem is: an item index or a line number; `field` is relative to that. */
export type Location = Pick<ProblemDetail, 'index' | 'line'>;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Finishes items whose shape already passed their schema: custom_id unique in the batch,
 * parameters (merged over any batch defaults) valid as a whole, prompt + gen_length within the
 * model. `rename` maps a parameter path back to the name the user wrote (gen_length ->
 * body.max_tokens).
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
    /** the model every item of this submission runs on */
    private readonly model: SubmissionModel,
    /** the batch's completion window (seconds): item deadlines must fall within it */
    private readonly completionWindow: number = rules.defaultCompletionWindow,
    /** epoch ms a relative deadline ("10m") counts from */
    private readonly submittedAt: number = Date.now(),
  ) {}

  /** Registers a custom_id; false (with a problem) when it was used before in the batch. */
  claimCustomId(customId: string, at: Location, position: number): boolean {
    const first = this.seenIds.get(customId);
    if (first !== undefined) {
      const where = at.line !== undefined ? `line ${first}` : `items[${first}]`;
      this.problems.add({
        ...at,
        field: 'custom_id',
        message: `duplicate custom_id ${JSON.stringify(customId)} (first used at ${where})`,
      });
      return false;
    }
    this.seenIds.set(customId, at.line ?? position);
    return true;
  }

  build(
    at: Location,
    customId: string,
    task: GenerationTask,
    taskField: string,
    params: Record<string, unknown>,
    paramsField: string,
    rename: (field: string) => string = (f) => f,
    /** JSON.stringify(params), when the caller has it already */
    paramsKey?: string,
  ): SubmittedItem | undefined {
    const validated = this.params(params, paramsField, at, rename, paramsKey);
    if (!validated) return undefined;
    const genLength = validated.params.gen_length;
    if (genLength > this.model.maxLength) {
      this.problems.add({
        ...at,
        field: rename(`${paramsField}.gen_length`),
        message: `must be <= the model's max length ${this.model.maxLength}`,
      });
      return undefined;
    }
    const tooLong = this.model.budget.check(task, genLength);
    if (tooLong) {
      this.problems.add({ ...at, field: taskField, message: tooLong });
      return undefined;
    }
    const unfit =
      this.model.shape && modelParamsProblem(this.model.shape, validated.params, 'prefix' in task);
    if (unfit) {
      this.problems.add({
        ...at,
        field: 'prefix' in task ? taskField : paramsField || '(params)',
        message: `${this.model.name}: ${unfit}`,
      });
      return undefined;
    }
    return { customId, task, params: validated.params, paramsJson: validated.json };
  }

  private params(
    raw: Record<string, unknown>,
    field: string,
    at: Location,
    rename: (field: string) => string,
    key = JSON.stringify(raw),
  ): { params: GenerationParams; json: string } | undefined {
    let result = this.paramsCache.get(key);
    if (result === undefined) {
      const parsed = generationParamsSchema.safeParse(withModelDefaults(raw, this.model.defaults));
      if (!parsed.success) result = zodProblems(parsed.error, field, {}, rename);
      else {
        const deadline = this.deadline(parsed.data.deadline, `${field}.deadline`, rename);
        result = Array.isArray(deadline)
          ? deadline
          : {
              params: { ...parsed.data, deadline },
              json: JSON.stringify({ ...parsed.data, deadline }),
            };
      }
      // Bounded: a batch of all-different parameters must not grow this without limit.
      if (this.paramsCache.size < 10_000) this.paramsCache.set(key, result);
    }
    if (Array.isArray(result)) {
      for (const problem of result) this.problems.add({ ...at, ...problem });
      return undefined;
    }
    return result;
  }

  /**
   * A deadline as the absolute ISO time workers read (a duration counts from submission), or the
   * problem: it must fall after submission and within the batch's completion window.
   */
  private deadline(
    text: string | undefined,
    field: string,
    rename: (field: string) => string,
  ): string | undefined | ProblemDetail[] {
    if (text === undefined) return undefined;
    const at = parseDeadline(text, this.submittedAt);
    if (at === null) return [{ field: rename(field), message: 'is not a time or a duration' }];
    const windowEnd = this.submittedAt + this.completionWindow * 1000;
    if (at <= this.submittedAt) {
      return [{ field: rename(field), message: `${text} is in the past` }];
    }
    if (at > windowEnd) {
      return [
        {
          field: rename(field),
          message: `${text} is after the batch's completion window (${this.completionWindow} s, until ${new Date(windowEnd).toISOString()}); give a later completion_window or an earlier deadline`,
        },
      ];
    }
    return new Date(at).toISOString();
  }
}
