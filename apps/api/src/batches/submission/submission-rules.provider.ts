import type { Provider } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { CONFIG } from '../../common/core.module';
import { MODEL_CATALOG, type ModelCatalog } from '../../model/served-model';
import type { SubmissionRules } from './submission';

export const SUBMISSION_RULES = Symbol('SUBMISSION_RULES');

/** Limits from the configuration plus the model catalog (read from MODEL_DIR, MODELS at start-up). */
export const submissionRulesProvider: Provider = {
  provide: SUBMISSION_RULES,
  inject: [CONFIG, MODEL_CATALOG],
  useFactory: (config: Config, models: ModelCatalog): SubmissionRules => ({
    maxItems: config.MAX_BATCH_ITEMS,
    maxJsonDepth: config.JSON_MAX_DEPTH,
    defaultCompletionWindow: config.DEFAULT_COMPLETION_WINDOW,
    maxCompletionWindow: config.MAX_COMPLETION_WINDOW,
    webhookAllowedUrls: config.WEBHOOK_ALLOWED_URLS,
    models,
  }),
};
