import type { z } from 'zod';

/** One problem with an input, located precisely enough to fix it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** "a string", "an array", "null": how a wrong value is named in an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** zod's own wording for unknown keys; ours is "unknown field" (or the schema's own message). */
const ZOD_UNKNOWN_KEYS = /^Unrecognized keys?:/;

/**
 * Zod issues as field issues under `prefix` (the one error format of engine, API and CLI).
 * An unknown key becomes one issue per key, named by its own path, so "params.temprature"
 * points at the typo.
 */
export function zodIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      const message = ZOD_UNKNOWN_KEYS.test(issue.message) ? 'unknown field' : issue.message;
      for (const key of issue.keys) out.push({ field: path ? `${path}.${key}` : key, message });
    } else if (issue.code === 'invalid_key' && issue.issues[0]) {
      // a record key that fails its own schema: say why, at the key
      out.push({ field: path, message: issue.issues[0].message });
    } else {
      out.push({ field: path || '(root)', message: issue.message });
    }
  }
  return out;
}

/** "field: message; field: message" for one-line errors (CLI lines, bundle files). */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}
