import type { Provider } from '@nestjs/common';
import { PromptBudget } from '@dllm/engine/request';
import type { Config } from '@dllm/shared';
import { CONFIG } from '../../common/core.module';
import { SERVED_MODEL, type ServedModel } from '../../model/served-model';
import type { SubmissionRules } from './submission';

export const SUBMISSION_RULES = Symbol('SUBMISSION_RULES');

/** Limits from the configuration plus the served model (read from MODEL_DIR at start-up). */
export const submissionRulesProvider: Provider = {
  provide: SUBMISSION_RULES,
  inject: [CONFIG, SERVED_MODEL],
  useFactory: (config: Config, model: ServedModel): SubmissionRules => ({
    maxItems: config.MAX_BATCH_ITEMS,
    maxJsonDepth: config.JSON_MAX_DEPTH,
    defaultCompletionWindow: config.DEFAULT_COMPLETION_WINDOW,
    maxCompletionWindow: config.MAX_COMPLETION_WINDOW,
    webhookAllowedUrls: config.WEBHOOK_ALLOWED_URLS,
    model,
    budget: new PromptBudget(model.tokenizer, {
      maxLength: model.maxLength,
      shiftLogits: model.needsPrompt,
    }),
  }),
};
