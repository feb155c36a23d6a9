import type { Provider } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { CONFIG } from '../../common/core.module';
import { loadServedModel } from '../../model/served-model';
import { PromptBudget } from './prompt-budget';
import type { SubmissionRules } from './submission';

export const SUBMISSION_RULES = Symbol('SUBMISSION_RULES');

/** Limits from the configuration plus the served model (read from MODEL_DIR at start-up). */
export const submissionRulesProvider: Provider = {
  provide: SUBMISSION_RULES,
  inject: [CONFIG],
  useFactory: (config: Config): SubmissionRules => {
    const model = loadServedModel(config.MODEL_DIR);
    return {
      maxItems: config.MAX_BATCH_ITEMS,
      defaultCompletionWindow: config.DEFAULT_COMPLETION_WINDOW,
      maxCompletionWindow: config.MAX_COMPLETION_WINDOW,
      model,
      budget: new PromptBudget(model.tokenizer, model.maxLength),
    };
  },
};
