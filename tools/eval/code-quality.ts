/**
 * Quality measures that mean something for code, beyond exact tokens: does the file still parse with
 * the generated span in place, and how much of the span repeats itself (degeneration).
 */

/** 4-grams of the generated tokens that already occurred earlier in the same span. */
export interface Repetition {
  repeated: number;
  total: number;
}

export function repeatedNgrams(ids: readonly number[], n = 4): Repetition {
  const seen = new Set<string>();
  let repeated = 0;
  const total = Math.max(0, ids.length - n + 1);
  for (let i = 0; i < total; i++) {
    const key = ids.slice(i, i + n).join(',');
    if (seen.has(key)) repeated++;
    else seen.add(key);
  }
  return { repeated, total };
}

/** The whole file with the window's span replaced by the output: what `ast.parse` judges. */
export function fileWithSpan(fileText: { before: string; after: string }, output: string): string {
  return fileText.before + output + fileText.after;
}
