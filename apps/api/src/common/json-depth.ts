import { ApiError } from './api-error';

/**
 * How deep a JSON text nests, found by one pass over its characters before anything parses it.
 * JSON.parse copes with any depth, but every walk after it (validation, storable-text checks,
 * JSON.stringify into jsonb) recurses: a megabyte of `[[[...` would overflow the stack, and even
 * parsing it costs a quarter of a second. Strings are skipped, so brackets inside them don't count.
 * Returns the offset of the first bracket past `limit`, or -1 if the text stays within it.
 */
export function firstTooDeep(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return -1;
}

/** The message a too-deep body gets, naming the limit and its setting. */
export const tooDeepMessage = (limit: number, offset: number): string =>
  `nests deeper than the ${limit}-level limit (JSON_MAX_DEPTH) at position ${offset + 1}`;

/**
 * The body parser's verify hook: throws a 400 for a body nesting past `limit`. Bytes are read as
 * latin1 (one character per byte): quotes, backslashes and brackets are ASCII in UTF-8.
 */
export function refuseDeepJson(body: Buffer, limit: number): void {
  const at = firstTooDeep(body.toString('latin1'), limit);
  if (at >= 0) throw ApiError.badRequest('json_too_deep', `the body ${tooDeepMessage(limit, at)}`);
}
