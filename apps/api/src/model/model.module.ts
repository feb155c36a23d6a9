import { Global, Module } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import {
  SUBMISSION_RULES,
  submissionRulesProvider,
} from '../batches/submission/submission-rules.provider';
import { CONFIG } from '../common/core.module';
import { loadServedModel, SERVED_MODEL } from './served-model';

/** The served model and the submission rules built on it, for every module. */
@Global()
@Module({
  providers: [
    {
      provide: SERVED_MODEL,
      inject: [CONFIG],
      useFactory: (config: Config) => loadServedModel(config.MODEL_DIR),
    },
    submissionRulesProvider,
  ],
  exports: [SERVED_MODEL, SUBMISSION_RULES],
})
export class ModelModule {}
