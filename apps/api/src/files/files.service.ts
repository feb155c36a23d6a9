import { Inject, Injectable } from '@nestjs/common';
import type { Config, FileEntity } from '@dllm/shared';
import type { Principal } from '../auth/principal';
import { ApiError, type ProblemDetail } from '../common/api-error';
import { CONFIG } from '../common/core.module';
import { decodeUtf8 } from '../common/read-body';
import { FILE_STORE } from './files.tokens';
import type { FileStorage } from './file-store';
import { fileView, type FileView } from './file-view';
import { FilesRepository } from './files.repository';
import type { Upload } from './multipart-upload';
import { newFileId } from './result-files';

type Query = Record<string, unknown>;

/** The rules of /v1/files: batch input files only, owned by a tenant, stored by the FileStore. */
@Injectable()
export class FilesService {
  constructor(
    private readonly files: FilesRepository,
    @Inject(FILE_STORE) private readonly store: FileStorage,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  get maxBytes(): number {
    return this.config.FILE_MAX_MB * 2 ** 20;
  }

  /**
   * Stores an upload. Only `purpose=batch` files are taken (this service runs batches); the
   * lines are checked as OpenAI batch input when a batch is created from the file.
   */
  async upload(principal: Principal, upload: Upload): Promise<FileView> {
    if (upload.purpose !== 'batch') {
      throw ApiError.badRequest(
        'invalid_purpose',
        `purpose ${JSON.stringify(upload.purpose)} is not supported; this service takes "batch" files`,
      );
    }
    if (upload.content.length === 0)
      throw ApiError.badRequest('invalid_upload', 'the file is empty');
    decodeUtf8(upload.content); // 400 now rather than at batch creation
    const id = newFileId();
    const file = {
      id,
      tenant: principal.tenant,
      apiKeyId: principal.apiKeyId,
      purpose: 'batch' as const,
      filename: upload.filename.slice(0, 255),
      bytes: upload.content.length,
      sha256: upload.sha256,
      storage: this.store.kind,
      batchId: null,
      expiresAt: this.expiry(upload.expiresAfterSeconds),
    };
    try {
      return fileView(
        await this.files.insert(
          file,
          (tx) => this.store.write(file, upload.content, tx),
          this.config.TENANT_FILES_QUOTA_MB * 2 ** 20,
        ),
      );
    } catch (error) {
      await this.store.remove(file).catch(() => undefined); // a folder write whose row failed
      throw error;
    }
  }

  /** The upload's expires_after, else FILE_RETENTION_S (0: kept until deleted). */
  private expiry(expiresAfterSeconds: number | undefined): Date | null {
    const seconds = expiresAfterSeconds ?? this.config.FILE_RETENTION_S;
    return seconds > 0 ? new Date(Date.now() + seconds * 1000) : null;
  }

  async get(principal: Principal, id: string): Promise<FileEntity> {
    const file = await this.files.findOwned(id, principal.tenant);
    if (!file) throw ApiError.notFound(`file ${id} not found`);
    return file;
  }

  /** The text of a batch input file, for a batch created from it. */
  async inputText(principal: Principal, id: string, field: string): Promise<string> {
    const file = await this.files.findOwned(id, principal.tenant);
    if (!file) {
      throw ApiError.badRequest('invalid_request', `${field}: file ${id} not found`, [
        { field, message: `file ${id} not found` },
      ]);
    }
    if (file.purpose !== 'batch') {
      throw ApiError.badRequest(
        'invalid_request',
        `${field}: file ${id} is a ${file.purpose} file, not a batch input file`,
        [
          {
            field,
            message: `file ${id} has purpose ${file.purpose}; upload the input with purpose "batch"`,
          },
        ],
      );
    }
    return decodeUtf8(await this.store.read(file));
  }

  /** Bytes of an uploaded file (result files are rendered by ResultFiles). */
  content(file: FileEntity): Promise<Buffer> {
    return this.store.read(file);
  }

  async list(principal: Principal, query: Query) {
    const problems: ProblemDetail[] = [];
    for (const key of Object.keys(query)) {
      if (!['purpose', 'limit', 'order', 'after'].includes(key)) {
        problems.push({
          field: key,
          message: 'unknown query parameter (known: purpose, limit, order, after)',
        });
      }
    }
    const text = (key: string) => (typeof query[key] === 'string' ? query[key] : undefined);
    const limitText = text('limit') ?? '100';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 10_000) {
      problems.push({
        field: 'limit',
        message: `must be a whole number from 1 to 10000 (got ${JSON.stringify(query.limit)})`,
      });
    }
    const order = text('order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc') {
      problems.push({
        field: 'order',
        message: `must be "asc" or "desc" (got ${JSON.stringify(query.order)})`,
      });
    }
    if (problems.length > 0) {
      throw ApiError.badRequest(
        'invalid_query',
        problems.map((p) => `${p.field}: ${p.message}`).join('; '),
        problems,
      );
    }
    const afterId = text('after');
    const after = afterId === undefined ? undefined : await this.get(principal, afterId);
    const rows = await this.files.list(principal.tenant, {
      purpose: text('purpose'),
      after: after && { createdAt: after.createdAt, id: after.id },
      order: order as 'asc' | 'desc',
      limit: limit + 1,
    });
    const page = rows.slice(0, limit).map(fileView);
    return {
      object: 'list' as const,
      data: page,
      first_id: page[0]?.id ?? null,
      last_id: page[page.length - 1]?.id ?? null,
      has_more: rows.length > limit,
    };
  }

  async delete(principal: Principal, id: string) {
    const file = await this.get(principal, id);
    await this.files.delete(file.id);
    await this.store.remove(file);
    return { id: file.id, object: 'file' as const, deleted: true };
  }
}
