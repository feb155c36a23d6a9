import { Inject, Injectable } from '@nestjs/common';
import { resultsExpireAt, type BatchEntity, type Config } from '@dllm/shared';
import { CONFIG } from '../common/core.module';
import { ResultFiles } from '../files/result-files';
import { batchView, type BatchView } from './batch-view';
import { openAiBatchView, type OpenAiBatchView } from './openai-batch-view';

export type PresentedBatch = BatchView | OpenAiBatchView;

/** `?view=native` asks for the native shape whatever the door (the CLI and the dashboard do). */
export type BatchViewChoice = 'by-origin' | 'native';

/**
 * A batch in the shape of the door it came through: OpenAI's batch object for one created from
 * an input file (with its output and error files once it ended), ours for the rest. The native
 * routes (items, results, events) speak ours for every batch.
 */
@Injectable()
export class BatchPresenter {
  constructor(
    private readonly resultFiles: ResultFiles,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async present(batch: BatchEntity, view: BatchViewChoice = 'by-origin'): Promise<PresentedBatch> {
    if (batch.origin !== 'openai' || view === 'native') {
      const expires = resultsExpireAt(batch, this.config.RESULT_RETENTION_S);
      return { ...batchView(batch), results_expire_at: expires?.toISOString() ?? null };
    }
    // OpenAI's shape says when outputs expire on the output and error file objects (expires_at)
    return openAiBatchView(await this.resultFiles.ensure(batch));
  }
}
