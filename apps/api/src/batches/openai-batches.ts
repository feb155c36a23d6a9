import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { FilesService } from '../files/files.service';
import { BatchesService, type SubmitResult } from './batches.service';
import { parseJsonlSubmission } from './submission/jsonl-submission';
import { Problems } from './submission/problems';
import { assertStorableJsonl } from './submission/storable-text';
import { schemasFor } from './submission/schemas-for';
import { SUBMISSION_RULES } from './submission/submission-rules.provider';
import type { SubmissionRules } from './submission/submission';

/**
 * `POST /v1/batches` with `{input_file_id, endpoint, completion_window, metadata?}`: a batch made
 * from an uploaded file, whose lines are checked now (a 400 lists each problem by line). It is an
 * ordinary batch from then on; only its object on /v1/batches is OpenAI's.
 */
@Injectable()
export class OpenAiBatches {
  constructor(
    private readonly batches: BatchesService,
    private readonly files: FilesService,
    @Inject(SUBMISSION_RULES) private readonly rules: SubmissionRules,
  ) {}

  create(
    principal: Principal,
    body: unknown,
    requestHash: string,
    idempotencyKey: string | undefined,
    log?: Logger,
  ): Promise<SubmitResult> {
    return this.batches.submitParsed(
      principal,
      requestHash,
      idempotencyKey,
      { origin: 'openai', inputFileId: (body as { input_file_id?: string }).input_file_id },
      log,
      async () => {
        const parsed = schemasFor(this.rules).openAiCreate.safeParse(body);
        if (!parsed.success) {
          const problems = new Problems();
          problems.addZod(parsed.error, '');
          problems.throwIfAny();
        }
        const { input_file_id, endpoint, ...options } = parsed.data!;
        const text = await this.files.inputText(principal, input_file_id, 'input_file_id');
        assertStorableJsonl(text, this.rules.maxJsonDepth); // NUL and lone surrogates: 400 by line and field
        return parseJsonlSubmission(text, options, this.rules, endpoint);
      },
    );
  }
}
