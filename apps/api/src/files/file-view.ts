import type { FileEntity } from '@dllm/shared';

const unix = (date: Date | null): number | null =>
  date ? Math.floor(date.getTime() / 1000) : null;

/** The OpenAI file object (GET /v1/files/:id, list entries, upload reply). */
export function fileView(f: FileEntity) {
  return {
    id: f.id,
    object: 'file' as const,
    bytes: f.bytes,
    created_at: unix(f.createdAt)!,
    expires_at: unix(f.expiresAt),
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed' as const,
    status_details: null,
  };
}

export type FileView = ReturnType<typeof fileView>;
