import { createHash } from 'node:crypto';
import { ApiError } from '../common/api-error';
import type { HttpRequest } from '../common/http';
import { firstTooDeep, tooDeepMessage } from '../common/json-depth';
import { decodeUtf8, mediaType, readBody } from '../common/read-body';
import { parseJsonlQuery } from './list-query';

export const JSON_TYPES = new Set(['application/json']);
export const JSONL_TYPES = new Set([
  'application/x-ndjson',
  'application/jsonl',
  'application/x-jsonlines',
]);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** A batch request as HTTP delivered it: decoded, parsed as far as its media type goes, hashed. */
export type BatchRequest = (
  | { kind: 'json'; text: string; body: unknown }
  | { kind: 'jsonl'; text: string; options: ReturnType<typeof parseJsonlQuery> }
) & {
  /** SHA-256 of what makes the request (kind, query options, body bytes): tells a replay apart */
  hash: string;
};

/**
 * The HTTP side of `POST /v1/batches`, before any batch rule: media type (415), Idempotency-Key
 * syntax, query options, the body read under its size cap (413), UTF-8 (400), JSON syntax (400)
 * and the request hash. What is left for the service is a value, never the request.
 */
export async function readBatchRequest(
  req: HttpRequest,
  limitBytes: number,
  maxDepth: number,
  idempotencyKey: string | undefined,
): Promise<BatchRequest> {
  const kind = bodyKind(req);
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw ApiError.badRequest(
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 255 visible ASCII characters',
    );
  }
  const options = kind === 'jsonl' ? parseJsonlQuery(req.query) : undefined;
  if (kind === 'json' && Object.keys(req.query).length > 0) {
    throw ApiError.badRequest(
      'invalid_query',
      `a JSON body carries its own options; unexpected query parameter ${Object.keys(req.query)[0]}`,
    );
  }
  const bytes = await readBody(req, limitBytes);
  const hash = createHash('sha256')
    .update(`${kind}\n${JSON.stringify(options ?? {})}\n`)
    .update(bytes)
    .digest('hex');
  const text = decodeUtf8(bytes);
  return kind === 'json'
    ? { kind, text, body: parseJsonBody(text, maxDepth), hash }
    : { kind, text, options: options!, hash };
}

function bodyKind(req: HttpRequest): 'json' | 'jsonl' {
  const { type, charset } = mediaType(req);
  const expected =
    'send application/json (items inline) or application/x-ndjson (OpenAI batch lines or native items)';
  if (type === undefined)
    throw new ApiError(415, 'unsupported_media_type', `missing Content-Type: ${expected}`);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `charset ${charset} is not supported; send UTF-8`,
    );
  }
  if (JSON_TYPES.has(type)) return 'json';
  if (JSONL_TYPES.has(type)) return 'jsonl';
  throw new ApiError(
    415,
    'unsupported_media_type',
    `Content-Type ${type} is not accepted: ${expected}`,
  );
}

export function parseJsonBody(text: string, maxDepth: number): unknown {
  const tooDeep = firstTooDeep(text, maxDepth);
  if (tooDeep >= 0)
    throw ApiError.badRequest('json_too_deep', `the body ${tooDeepMessage(maxDepth, tooDeep)}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw ApiError.badRequest(
      'invalid_json',
      `the body is not valid JSON: ${(error as Error).message}`,
    );
  }
}
