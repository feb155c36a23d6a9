import { Global, Module } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import {
  SUBMISSION_RULES,
  submissionRulesProvider,
} from '../batches/submission/submission-rules.provider';
import { CONFIG } from '../common/core.module';
import { loadModelCatalog, MODEL_CATALOG } from './served-model';

/** The model catalog and the submission rules built on it, for every module. */
@Global()
@Module({
  providers: [
    {
      provide: MODEL_CATALOG,
      inject: [CONFIG],
      useFactory: (config: Config) => loadModelCatalog(config),
    },
    submissionRulesProvider,
  ],
  exports: [MODEL_CATALOG, SUBMISSION_RULES],
})
export class ModelModule {}
