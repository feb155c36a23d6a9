import { unstorableText } from '@dllm/shared';
import type { ProblemDetail } from '../../common/api-error';
import { firstTooDeep } from '../../common/json-depth';
import { Problems } from './problems';

/**
 * Postgres text cannot hold NUL, and a lone UTF-16 surrogate is either refused (jsonb) or silently
 * replaced (text). In a UTF-8 JSON body both can only arrive as \u escapes (raw bytes for them are
 * invalid JSON or invalid UTF-8, refused earlier), so a body without such an escape is skipped
 * with one regular-expression test; only the rare body that has one is walked value by value.
 */
const SUSPECT_ESCAPE = /\\u(0000|[dD][89abcdefABCDEF])/;

/**
 * Every string in `value` (keys included) that cannot be stored, with its path from `field`.
 * Walked with an explicit stack, in document order: no depth of nesting can overflow the call stack.
 */
export function unstorableStrings(
  value: unknown,
  field: string,
  out: { field: string; message: string }[],
): void {
  // [value, path] to walk, or [undefined, path, message] for a field name already found bad
  const stack: [unknown, string, string?][] = [[value, field]];
  while (stack.length > 0) {
    const [v, path, message] = stack.pop()!;
    if (message !== undefined) out.push({ field: path, message });
    else if (typeof v === 'string') {
      const why = unstorableText(v);
      if (why) out.push({ field: path, message: why });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}.${i}`]);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const at = path ? `${path}.${key}` : key;
        stack.push([child, at]);
        const why = unstorableText(key);
        if (why) stack.push([undefined, at, `the field name ${why}`]); // popped before its value
      }
    }
  }
}

/** A JSON submission: problems by item index and field (batch fields by field alone). */
export function assertStorableJson(text: string, body: unknown): void {
  if (!SUSPECT_ESCAPE.test(text) || typeof body !== 'object' || body === null) return;
  const problems = new Problems();
  const found: { field: string; message: string }[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key === 'items' && Array.isArray(value)) {
      value.forEach((item, index) => {
        const inItem: { field: string; message: string }[] = [];
        unstorableStrings(item, '', inItem);
        for (const p of inItem)
          problems.add({ index, field: p.field || '(item)', message: p.message });
      });
    } else unstorableStrings(value, key, found);
  }
  for (const p of found) problems.add(p);
  problems.throwIfAny();
}

/**
 * A JSONL submission: problems by line number and field; only lines with a suspect escape are
 * parsed, and none nesting past `maxDepth` (the JSONL parser refuses those with their line).
 */
export function assertStorableJsonl(text: string, maxDepth: number): void {
  if (!SUSPECT_ESCAPE.test(text)) return;
  const problems = new Problems();
  text.split('\n').forEach((line, i) => {
    if (!SUSPECT_ESCAPE.test(line) || firstTooDeep(line, maxDepth) >= 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // the JSONL parser reports it as invalid JSON with its line
    }
    const found: ProblemDetail[] = [];
    unstorableStrings(parsed, '', found);
    for (const p of found)
      problems.add({ line: i + 1, field: p.field || '(line)', message: p.message });
  });
  problems.throwIfAny();
}
