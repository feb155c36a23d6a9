import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BatchEntity } from '@dllm/shared';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';
import { BatchEventReader } from '../events/batch-event-reader';
import { ResultFiles } from './result-files';

/**
 * Gives an OpenAI batch its output and error files as soon as its batch-ended event is heard,
 * so that reading the batch does not render it. A batch whose event this process missed gets
 * them on its next read instead (BatchPresenter, from Postgres): the event only makes it early.
 */
@Injectable()
export class ResultFileMaker implements OnApplicationBootstrap, OnApplicationShutdown {
  private stop: (() => void) | undefined;
  private readonly making = new Set<Promise<unknown>>();

  constructor(
    private readonly files: ResultFiles,
    private readonly events: BatchEventReader,
    private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = this.events.onEnded((batchId, ended) => {
      if (ended.origin !== 'openai') return;
      const work = this.make(batchId).finally(() => this.making.delete(work));
      this.making.add(work);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop?.();
    await Promise.allSettled([...this.making]);
  }

  private async make(batchId: string): Promise<void> {
    try {
      const batch = await this.dataSource.getRepository(BatchEntity).findOneBy({ id: batchId });
      if (batch) await this.files.ensure(batch);
    } catch (error) {
      this.logger.warn(
        { err: loggableError(error), batch_id: batchId },
        'result files not made on the batch-ended event; its next read makes them',
      );
    }
  }
}
