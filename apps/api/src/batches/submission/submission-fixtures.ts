import { join } from 'node:path';
import { PromptBudget } from '@dllm/engine/request';
import { DllmTokenizer } from '@dllm/engine/tokenizer';
import { ApiError } from '../../common/api-error';
import type { SubmissionModel, SubmissionRules } from './submission';

// What the submission specs share (no jest here: the API's build compiles this file too): the bundled model's rules, and how a refusal is read.

const tokenizer = DllmTokenizer.fromFile(
  join(__dirname, '../../../../../models/dllm-code-small/tokenizer.json'),
);

/** The prompt budget of the bundled model (its tokenizer, 256 positions). */
export const bundledBudget = new PromptBudget(tokenizer, 256);

/** The bundled model as the catalog lists it; `extra` over it. */
export function bundledModel(extra: Partial<SubmissionModel> = {}): SubmissionModel {
  return {
    name: 'dllm-code-small',
    aliases: [],
    maxLength: 256,
    needsPrompt: false,
    budget: bundledBudget,
    ...extra,
  };
}

/** Rules of a small deployment serving the bundled model; `extra` over them. */
export function submissionRules(extra: Partial<SubmissionRules> = {}): SubmissionRules {
  return {
    maxItems: 10,
    maxJsonDepth: 64,
    defaultCompletionWindow: 86_400,
    maxCompletionWindow: 7 * 86_400,
    webhookAllowedUrls: [],
    models: [bundledModel()],
    ...extra,
  };
}

/** The problems a submission is refused with: a 400 ApiError (fails the test when it is accepted). */
export function problems(parse: () => unknown) {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 400)
      throw new Error(`refused with ${error.status}, not 400`, { cause: error });
    return error.details ?? [];
  }
  throw new Error('expected the submission to be refused');
}
