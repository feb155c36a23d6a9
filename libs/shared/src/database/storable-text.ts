/**
 * Postgres `text` and `jsonb` hold valid Unicode without U+0000: a NUL or a lone UTF-16
 * surrogate in a JS string fails the whole statement (NUL) or is silently replaced on the way
 * (lone surrogate in text) or refused (lone surrogate escaped in jsonb).
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** Why `text` cannot be stored as given (with the character position), or null when it can. */
export function unstorableText(text: string): string | null {
  const match = UNSTORABLE.exec(text);
  if (!match) return null;
  const code = match[0].charCodeAt(0);
  const what =
    code === 0
      ? 'a NUL character (U+0000)'
      : `a lone surrogate (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  return `contains ${what} at character ${match.index}, which cannot be stored; remove or escape it`;
}

/**
 * The text with every unstorable character replaced by U+FFFD (the replacement character), so
 * one generated NUL never fails a write. Returns the input itself when nothing is replaced.
 */
export function toStorableText(text: string): string {
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, '\ufffd') : text;
}
