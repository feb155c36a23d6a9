import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntity } from '@dllm/shared';
import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Where an uploaded file's bytes live. Postgres (`file_contents`, written in the same transaction
 * as the file's row) unless FILES_DIR names a folder; each file records its own storage, so
 * files written before a change of setting stay readable.
 */
export interface FileStore {
  readonly kind: 'postgres' | 'directory';
  /** called inside the transaction that inserts the file's row */
  write(file: Pick<FileEntity, 'id'>, content: Buffer, tx: QueryRunner): Promise<void>;
  read(file: FileEntity): Promise<Buffer>;
  /** after the row is gone (its own transaction committed) */
  remove(file: Pick<FileEntity, 'id' | 'storage'>): Promise<void>;
}

export class PostgresFileStore implements FileStore {
  readonly kind = 'postgres' as const;

  constructor(private readonly dataSource: DataSource) {}

  async write(file: Pick<FileEntity, 'id'>, content: Buffer, tx: QueryRunner): Promise<void> {
    await tx.query(`INSERT INTO file_contents (file_id, content) VALUES ($1, $2)`, [
      file.id,
      content,
    ]);
  }

  async read(file: FileEntity): Promise<Buffer> {
    const rows = await this.dataSource.query<{ content: Buffer }[]>(
      `SELECT content FROM file_contents WHERE file_id = $1`,
      [file.id],
    );
    if (!rows[0]) throw new Error(`file ${file.id}: content missing from file_contents`);
    return rows[0].content;
  }

  async remove(): Promise<void> {
    // file_contents rows go with their file row (ON DELETE CASCADE)
  }
}

export class DirectoryFileStore implements FileStore {
  readonly kind = 'directory' as const;

  constructor(private readonly dir: string) {}

  private path(file: Pick<FileEntity, 'id'>): string {
    // ids are "file-" + hex: no separators, so the path stays inside the folder
    return join(this.dir, file.id);
  }

  async write(file: Pick<FileEntity, 'id'>, content: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = `${this.path(file)}.part`;
    await writeFile(temp, content);
    await rename(temp, this.path(file));
  }

  read(file: FileEntity): Promise<Buffer> {
    return readFile(this.path(file));
  }

  async remove(file: Pick<FileEntity, 'id'>): Promise<void> {
    await rm(this.path(file), { force: true });
  }
}

/**
 * New files go to the folder when FILES_DIR is set, else to Postgres; every file is read and
 * removed where its row says it was written.
 */
export class FileStorage implements FileStore {
  readonly kind: 'postgres' | 'directory';
  private readonly postgres: PostgresFileStore;
  private readonly directory: DirectoryFileStore | undefined;

  constructor(dataSource: DataSource, dir: string | undefined) {
    this.postgres = new PostgresFileStore(dataSource);
    this.directory = dir === undefined ? undefined : new DirectoryFileStore(dir);
    this.kind = this.directory ? 'directory' : 'postgres';
  }

  write(file: Pick<FileEntity, 'id'>, content: Buffer, tx: QueryRunner): Promise<void> {
    return (this.directory ?? this.postgres).write(file, content, tx);
  }

  read(file: FileEntity): Promise<Buffer> {
    return this.storeOf(file).read(file);
  }

  remove(file: Pick<FileEntity, 'id' | 'storage'>): Promise<void> {
    return this.storeOf(file).remove(file);
  }

  private storeOf(file: Pick<FileEntity, 'id' | 'storage'>): FileStore {
    if (file.storage !== 'directory') return this.postgres;
    if (!this.directory)
      throw new Error(`file ${file.id} is in a folder, but FILES_DIR is not set`);
    return this.directory;
  }
}
