import { Injectable } from '@nestjs/common';
import type { BatchEntity } from '@dllm/shared';
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
  constructor(private readonly resultFiles: ResultFiles) {}

  async present(batch: BatchEntity, view: BatchViewChoice = 'by-origin'): Promise<PresentedBatch> {
    if (batch.origin !== 'openai' || view === 'native') return batchView(batch);
    return openAiBatchView(await this.resultFiles.ensure(batch));
  }
}
