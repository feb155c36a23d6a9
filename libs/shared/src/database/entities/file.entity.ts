import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './column-types';

export const FILE_PURPOSES = ['batch', 'batch_output', 'batch_error'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/**
 * A file of /v1/files. Uploaded files keep their bytes in `file_contents` or FILES_DIR
 * (`storage`); a batch's output and error files (`storage = 'batch'`) are views of its results,
 * rendered when read.
 */
@Entity({ name: 'files' })
export class FileEntity {
  /** "file-" + random hex */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  tenant!: string;

  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  purpose!: FilePurpose;

  @Column({ type: 'varchar', length: 255 })
  filename!: string;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  bytes!: number;

  @Column({ type: 'char', length: 64, nullable: true })
  sha256!: string | null;

  @Column({ type: 'varchar', length: 16 })
  storage!: 'postgres' | 'directory' | 'batch';

  /** The batch whose results this file shows (output and error files only). */
  @Column({ name: 'batch_id', type: 'uuid', nullable: true })
  batchId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;
}
