import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { seededRandom } from './random';

/** A tokenized source file. */
export interface SourceFile {
  path: string;
  ids: number[];
}

/** Where a window's pieces come from: `before` tokens, then `span` tokens to predict, then `after`. */
export interface WindowShape {
  /** most tokens of context before the span (fewer near the start of a file) */
  before: number;
  span: number;
  /** most tokens of context after the span (0 for continuation; fewer near the end of a file) */
  after: number;
  /** fewest context tokens on each side for a window to qualify */
  minBefore: number;
  minAfter: number;
}

export interface Window {
  file: string;
  /** token offset of the span in the file */
  start: number;
  before: number[];
  span: number[];
  after: number[];
}

/** Files to evaluate on: one .py file, every *.py under a folder, or the model's validation split. */
export function listSourceFiles(data: string | undefined, modelDir: string): string[] {
  if (data === undefined) {
    const splitPath = join(modelDir, 'validation_files.json');
    const split = JSON.parse(readFileSync(splitPath, 'utf8')) as { root: string; files: string[] };
    return split.files.map((f) => join(split.root, f)).sort();
  }
  const path = resolve(data);
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.py')) out.push(p);
    }
  };
  walk(path);
  if (!out.length) throw new Error(`--data ${data}: no *.py files under ${path}`);
  // sort by path relative to the folder so the sample does not depend on where the folder lives
  return out.sort((a, b) => (relative(path, a) < relative(path, b) ? -1 : 1));
}

/**
 * `count` distinct windows drawn uniformly over every qualifying span start of every file (files in
 * the given order), cut at token boundaries. Same files + shape + seed => same windows.
 */
export function sampleWindows(
  files: readonly SourceFile[],
  shape: WindowShape,
  count: number,
  seed: number,
  maxLength: number,
): Window[] {
  if (shape.before + shape.span + shape.after > maxLength) {
    throw new Error(
      `window of ${shape.before} + ${shape.span} + ${shape.after} tokens exceeds the model's max length ${maxLength}`,
    );
  }
  // span starts s with minBefore <= s and s + span + minAfter <= file length
  const starts = files.map((f) =>
    Math.max(0, f.ids.length - shape.span - shape.minAfter - shape.minBefore + 1),
  );
  const total = starts.reduce((a, b) => a + b, 0);
  if (total < count)
    throw new Error(
      `only ${total} windows of ${shape.span} tokens in the data; asked for ${count}`,
    );
  const rand = seededRandom(seed);
  const picked = new Set<number>();
  const windows: Window[] = [];
  while (windows.length < count) {
    let g = Math.floor(rand() * total);
    if (picked.has(g)) continue;
    picked.add(g);
    let i = 0;
    while (g >= starts[i]!) g -= starts[i++]!;
    const ids = files[i]!.ids;
    const s = shape.minBefore + g;
    const e = s + shape.span;
    windows.push({
      file: files[i]!.path,
      start: s,
      before: ids.slice(Math.max(0, s - shape.before), s),
      span: ids.slice(s, e),
      after: ids.slice(e, Math.min(ids.length, e + shape.after)),
    });
  }
  return windows;
}
