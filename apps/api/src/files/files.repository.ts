import { Injectable } from '@nestjs/common';
import { FileEntity, inTransaction, type FilePurpose } from '@dllm/shared';
import { ApiError } from '../common/api-error';
import { DataSource, type QueryRunner, type Repository } from 'typeorm';

export interface FileListOptions {
  purpose?: string;
  /** keyset position: the row after which the page starts, in `order` */
  after?: { createdAt: Date; id: string };
  order: 'asc' | 'desc';
  limit: number;
}

/** The SQL of files. A file past its expires_at no longer exists for any read. */
@Injectable()
export class FilesRepository {
  private readonly files: Repository<FileEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.files = dataSource.getRepository(FileEntity);
  }

  /**
   * Inserts the row; `writeContent` runs in the same transaction (Postgres storage). With a
   * `quotaBytes`, the tenant's unexpired uploads plus this one must fit it (403 otherwise); the
   * tenant's uploads are serialised for that check, so two at once cannot both squeeze in.
   */
  async insert(
    file: Omit<FileEntity, 'createdAt'>,
    writeContent: (tx: QueryRunner) => Promise<void>,
    quotaBytes = 0,
  ): Promise<FileEntity> {
    await inTransaction(this.dataSource, async (tx) => {
      if (quotaBytes > 0) {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('files:' || $1))`, [file.tenant]);
        const [{ used }] = (await tx.query(
          `SELECT coalesce(sum(bytes), 0)::bigint AS used FROM files
           WHERE tenant = $1 AND batch_id IS NULL AND (expires_at IS NULL OR expires_at > now())`,
          [file.tenant],
        )) as [{ used: string }];
        if (Number(used) + file.bytes > quotaBytes) {
          const mib = (n: number) => (n / 2 ** 20).toFixed(1);
          throw new ApiError(
            403,
            'storage_quota_exceeded',
            `this tenant's files would take ${mib(Number(used) + file.bytes)} MiB, over its ` +
              `${mib(quotaBytes)} MiB quota (TENANT_FILES_QUOTA_MB); delete files or let them expire`,
          );
        }
      }
      await tx.query(
        `INSERT INTO files (id, tenant, api_key_id, purpose, filename, bytes, sha256, storage, batch_id, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          file.id,
          file.tenant,
          file.apiKeyId,
          file.purpose,
          file.filename,
          file.bytes,
          file.sha256,
          file.storage,
          file.batchId,
          file.expiresAt,
        ],
      );
      await writeContent(tx);
    });
    return (await this.files.findOneBy({ id: file.id }))!;
  }

  findOwned(id: string, tenant: string): Promise<FileEntity | null> {
    return this.files
      .createQueryBuilder('f')
      .where('f.id = :id AND f.tenant = :tenant', { id, tenant })
      .andWhere('(f.expiresAt IS NULL OR f.expiresAt > now())')
      .getOne();
  }

  list(tenant: string, options: FileListOptions): Promise<FileEntity[]> {
    const q = this.files
      .createQueryBuilder('f')
      .where('f.tenant = :tenant', { tenant })
      .andWhere('(f.expiresAt IS NULL OR f.expiresAt > now())');
    if (options.purpose) q.andWhere('f.purpose = :purpose', { purpose: options.purpose });
    const direction = options.order === 'asc' ? 'ASC' : 'DESC';
    if (options.after) {
      const op = options.order === 'asc' ? '>' : '<';
      q.andWhere(`(f.createdAt, f.id) ${op} (:afterAt, :afterId)`, {
        afterAt: options.after.createdAt,
        afterId: options.after.id,
      });
    }
    return q
      .orderBy('f.createdAt', direction)
      .addOrderBy('f.id', direction)
      .limit(options.limit)
      .getMany();
  }

  async delete(id: string): Promise<void> {
    await this.files.delete({ id });
  }

  /** The result files of a batch, by purpose (rows made by ResultFiles). */
  async ofBatch(batchId: string): Promise<Map<FilePurpose, string>> {
    const rows = await this.files.find({ where: { batchId }, select: { id: true, purpose: true } });
    return new Map(rows.map((r) => [r.purpose, r.id]));
  }

  /** Inserts a result file's row unless the batch has one of that purpose already. */
  async insertResultFile(file: Omit<FileEntity, 'createdAt'>): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO files (id, tenant, api_key_id, purpose, filename, bytes, sha256, storage, batch_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, NULL, 'batch', $7, $8)
       ON CONFLICT (batch_id, purpose) WHERE batch_id IS NOT NULL DO NOTHING`,
      [
        file.id,
        file.tenant,
        file.apiKeyId,
        file.purpose,
        file.filename,
        file.bytes,
        file.batchId,
        file.expiresAt,
      ],
    );
  }
}
