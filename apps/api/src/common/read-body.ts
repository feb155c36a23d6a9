import { ApiError } from './api-error';
import type { HttpRequest } from './http';

/**
 * Reads a request body into memory with a hard cap: 413 from Content-Length before reading
 * anything, or as soon as a chunked body passes the cap (the rest is not buffered). The error
 * response closes the connection (see the exception filter), so the unread rest is dropped.
 */
export async function readBody(req: HttpRequest, limitBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError(
      413,
      'payload_too_large',
      `request body is larger than the ${Math.round(limitBytes / 2 ** 20)} MiB limit (API_BODY_LIMIT_MB); ` +
        'split the batch or raise the limit',
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: ApiError) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (!error) return resolve(Buffer.concat(chunks, size));
      // Stop buffering but keep the socket: the error response still has to go out on it.
      chunks.length = 0;
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) finish(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = () =>
      finish(new ApiError(400, 'request_aborted', 'the request body could not be read to its end'));
    const onAborted = onError;
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8, refusing invalid bytes rather than replacing them with U+FFFD. */
export function decodeUtf8(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw ApiError.badRequest('invalid_encoding', 'the request body is not valid UTF-8');
  }
}

/** The media type of a Content-Type header ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(req: HttpRequest): {
  type: string | undefined;
  charset: string | undefined;
} {
  const header = req.headers['content-type'];
  if (!header) return { type: undefined, charset: undefined };
  const [type, ...params] = header.split(';');
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  return { type: type!.trim().toLowerCase(), charset };
}
