import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import {
  BatchEntity,
  BatchItemEntity,
  isTerminalBatchStatus,
  resultsExpireAt,
  type Config,
  type FileEntity,
  type FilePurpose,
  type ItemStatus,
} from '@dllm/shared';
import { DataSource, In, MoreThan, type Repository } from 'typeorm';
import { openAiResultLine } from '../batches/batch-view';
import { CONFIG } from '../common/core.module';
import type { HttpResponse } from '../common/http';
import { FilesRepository } from './files.repository';

/** Rows per read while rendering: memory stays flat whatever the batch size. */
const PAGE = 1000;

/** Which items a result file shows: the output file the completed, the error file the rest. */
const STATUSES: Record<'batch_output' | 'batch_error', ItemStatus[]> = {
  batch_output: ['completed'],
  batch_error: ['failed', 'cancelled', 'expired'],
};

export function newFileId(): string {
  return `file-${randomBytes(12).toString('hex')}`;
}

/**
 * The output and error files of an OpenAI batch: views of its results, never copies. When the
 * batch has ended they get a row in `files` (so they can be listed, read and deleted like any
 * file) and the batch records their ids; the content is rendered from the items when read.
 */
@Injectable()
export class ResultFiles {
  private readonly batches: Repository<BatchEntity>;
  private readonly items: Repository<BatchItemEntity>;

  constructor(
    private readonly files: FilesRepository,
    dataSource: DataSource,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.batches = dataSource.getRepository(BatchEntity);
    this.items = dataSource.getRepository(BatchItemEntity);
  }

  /**
   * The batch with its output_file_id / error_file_id, creating the files once it has ended.
   * Safe to race: a batch has at most one file per purpose (unique index).
   */
  async ensure(batch: BatchEntity): Promise<BatchEntity> {
    if (batch.origin !== 'openai' || !isTerminalBatchStatus(batch.status)) return batch;
    if (batch.outputFileId !== null || batch.errorFileId !== null) return batch;
    if (batch.resultsPurgedAt !== null) return batch; // nothing left to show
    // OpenAI's output_expires_after: the files go when the results do (RESULT_RETENTION_S)
    const expiresAt = resultsExpireAt(batch, this.config.RESULT_RETENTION_S);
    const errors = batch.failedCount + batch.cancelledCount + batch.expiredCount;
    const wanted: ('batch_output' | 'batch_error')[] = [];
    if (batch.completedCount > 0) wanted.push('batch_output');
    if (errors > 0) wanted.push('batch_error');
    for (const purpose of wanted) {
      await this.files.insertResultFile({
        id: newFileId(),
        tenant: batch.tenant,
        apiKeyId: batch.apiKeyId,
        purpose,
        filename: `batch_${batch.id}_${purpose === 'batch_output' ? 'output' : 'error'}.jsonl`,
        bytes: await this.measure(batch, purpose),
        sha256: null,
        storage: 'batch',
        batchId: batch.id,
        expiresAt,
      });
    }
    const ids = await this.files.ofBatch(batch.id);
    await this.batches.query(
      `UPDATE batches SET output_file_id = coalesce(output_file_id, $2),
                          error_file_id = coalesce(error_file_id, $3)
       WHERE id = $1`,
      [batch.id, ids.get('batch_output') ?? null, ids.get('batch_error') ?? null],
    );
    return (await this.batches.findOneBy({ id: batch.id })) ?? batch;
  }

  /** Writes a result file's JSONL to `res`, page by page, with backpressure. */
  async stream(file: FileEntity, res: HttpResponse, closed: AbortSignal): Promise<void> {
    const batch = await this.batches.findOneBy({ id: file.batchId! });
    if (!batch) return;
    for await (const chunk of this.render(batch, file.purpose)) {
      if (closed.aborted) return;
      if (!res.write(chunk)) await once(res, 'drain', { signal: closed });
    }
  }

  private async measure(batch: BatchEntity, purpose: FilePurpose): Promise<number> {
    let bytes = 0;
    for await (const chunk of this.render(batch, purpose)) bytes += Buffer.byteLength(chunk);
    return bytes;
  }

  private async *render(batch: BatchEntity, purpose: FilePurpose): AsyncGenerator<string> {
    const statuses = STATUSES[purpose as keyof typeof STATUSES];
    if (!statuses) return;
    let after = -1;
    for (;;) {
      const page = await this.items.find({
        where: { batchId: batch.id, status: In(statuses), index: MoreThan(after) },
        order: { index: 'ASC' },
        take: PAGE,
      });
      if (page.length === 0) return;
      let chunk = '';
      for (const item of page) chunk += JSON.stringify(openAiResultLine(item, batch)) + '\n';
      yield chunk;
      after = page[page.length - 1]!.index;
      if (page.length < PAGE) return;
    }
  }
}
