import { createHash } from 'node:crypto';
import busboy from 'busboy';
import { ApiError } from '../common/api-error';
import type { HttpRequest } from '../common/http';
import { mediaType } from '../common/read-body';
import { cleanFileName } from './file-name';

/** An uploaded file as `POST /v1/files` received it (multipart/form-data, OpenAI's format). */
export interface Upload {
  purpose: string;
  filename: string;
  content: Buffer;
  sha256: string;
  /** seconds after creation the file is deleted (`expires_after[seconds]`), if asked */
  expiresAfterSeconds?: number;
}

const FIELDS = ['purpose', 'expires_after[anchor]', 'expires_after[seconds]'];
/** Bytes of multipart framing and fields allowed beside the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * Reads a multipart upload with one `file` part and the `purpose` field, holding at most
 * `limitBytes` of file (413 past it, without reading the rest into memory). Every refusal
 * names the part that was wrong.
 */
export function readUpload(req: HttpRequest, limitBytes: number): Promise<Upload> {
  const { type } = mediaType(req);
  if (type !== 'multipart/form-data') {
    return Promise.reject(
      new ApiError(
        415,
        'unsupported_media_type',
        `send multipart/form-data with a "file" part and a "purpose" field (got ${type ?? 'no Content-Type'})`,
      ),
    );
  }
  const tooLarge = () =>
    new ApiError(
      413,
      'payload_too_large',
      `file is larger than the ${Math.round(limitBytes / 2 ** 20)} MiB limit (FILE_MAX_MB)`,
    );
  // the multipart framing around the file is small: refuse what cannot fit before reading it
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes + MULTIPART_OVERHEAD) {
    return Promise.reject(tooLarge());
  }
  return new Promise<Upload>((outerResolve, outerReject) => {
    let parser: busboy.Busboy | undefined;
    let settled = false;
    const resolve = (upload: Upload) => {
      if (!settled) outerResolve(upload);
      settled = true;
    };
    /** Stops reading: the error response closes the connection (unread rest dropped). */
    const reject = (error: ApiError) => {
      if (settled) return;
      settled = true;
      if (parser) req.unpipe(parser);
      outerReject(error);
    };
    const fields = new Map<string, string>();
    let file: { filename: string; content: Buffer; sha256: string } | undefined;
    let failure: ApiError | undefined;
    const fail = (error: ApiError) => {
      failure ??= error;
    };
    try {
      parser = busboy({
        headers: req.headers,
        // RFC 7578: a file name is UTF-8 (busboy's default, latin1, turns UTF-8 names into mojibake)
        defParamCharset: 'utf8',
        limits: { fileSize: limitBytes, files: 1, fields: 10, fieldSize: 1024 },
      });
    } catch (error) {
      reject(
        ApiError.badRequest(
          'invalid_multipart',
          `not a readable multipart body: ${(error as Error).message}`,
        ),
      );
      return;
    }
    parser.on('field', (name, value) => {
      if (!FIELDS.includes(name)) {
        fail(
          ApiError.badRequest(
            'invalid_upload',
            `unknown field ${JSON.stringify(name)} (allowed: file, ${FIELDS.join(', ')})`,
          ),
        );
      }
      fields.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') {
        fail(
          ApiError.badRequest(
            'invalid_upload',
            `unknown file part ${JSON.stringify(name)} (send it as "file")`,
          ),
        );
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      const hash = createHash('sha256');
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
        if (!failure) chunks.push(chunk);
      });
      stream.on('limit', () => {
        chunks.length = 0;
        reject(tooLarge());
      });
      stream.on('close', () => {
        file = {
          filename: cleanFileName(info.filename, 'upload.jsonl'),
          content: Buffer.concat(chunks, size),
          sha256: hash.digest('hex'),
        };
      });
    });
    parser.on('filesLimit', () =>
      fail(ApiError.badRequest('invalid_upload', 'send one file per request')),
    );
    parser.on('error', (error: Error) =>
      reject(
        ApiError.badRequest('invalid_multipart', `not a readable multipart body: ${error.message}`),
      ),
    );
    parser.on('close', () => {
      if (failure) return reject(failure);
      if (!file)
        return reject(ApiError.badRequest('invalid_upload', 'the "file" part is required'));
      const purpose = fields.get('purpose');
      if (purpose === undefined) {
        return reject(
          ApiError.badRequest('invalid_upload', 'the "purpose" field is required ("batch")'),
        );
      }
      let expiresAfterSeconds: number | undefined;
      const seconds = fields.get('expires_after[seconds]');
      if (seconds !== undefined || fields.has('expires_after[anchor]')) {
        const anchor = fields.get('expires_after[anchor]');
        const n = Number(seconds);
        if (
          anchor !== 'created_at' ||
          !/^\d+$/.test(seconds ?? '') ||
          n < 3600 ||
          n > 30 * 86_400
        ) {
          return reject(
            ApiError.badRequest(
              'invalid_upload',
              'expires_after needs anchor "created_at" and seconds from 3600 to 2592000',
            ),
          );
        }
        expiresAfterSeconds = n;
      }
      resolve({ purpose, ...file, expiresAfterSeconds });
    });
    req.on('aborted', () => reject(new ApiError(400, 'request_aborted', 'the upload ended early')));
    req.pipe(parser);
  });
}
