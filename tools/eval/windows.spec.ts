import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TASKS } from './tasks';
import { listSourceFiles, sampleWindows, type SourceFile, type WindowShape } from './windows';

const file = (path: string, n: number, base: number): SourceFile => ({
  path,
  ids: Array.from({ length: n }, (_, i) => base + i),
});
const files = [file('a.py', 300, 0), file('b.py', 40, 1000), file('c.py', 1000, 2000)];
const infill: WindowShape = { before: 96, span: 16, after: 64, minBefore: 16, minAfter: 16 };

describe('sampleWindows', () => {
  it('draws the same windows for the same files, shape and seed', () => {
    expect(sampleWindows(files, infill, 20, 7, 256)).toEqual(
      sampleWindows(files, infill, 20, 7, 256),
    );
  });

  it('draws other windows for another seed', () => {
    const starts = (seed: number) =>
      sampleWindows(files, infill, 20, seed, 256).map((w) => `${w.file}:${w.start}`);
    expect(starts(7)).not.toEqual(starts(8));
  });

  it('cuts contiguous windows at token boundaries within the file, the span of exact length', () => {
    for (const w of sampleWindows(files, infill, 50, 3, 256)) {
      const ids = files.find((f) => f.path === w.file)!.ids;
      expect(w.span).toEqual(ids.slice(w.start, w.start + 16));
      expect(w.before).toEqual(ids.slice(w.start - w.before.length, w.start));
      expect(w.after).toEqual(ids.slice(w.start + 16, w.start + 16 + w.after.length));
      expect(w.before.length).toBeGreaterThanOrEqual(16);
      expect(w.after.length).toBeGreaterThanOrEqual(16);
      expect(w.before.length + w.span.length + w.after.length).toBeLessThanOrEqual(256);
    }
  });

  it('never repeats a window', () => {
    const ws = sampleWindows(files, infill, 200, 5, 256);
    expect(new Set(ws.map((w) => `${w.file}:${w.start}`)).size).toBe(200);
  });

  it('refuses a shape longer than the model max length', () => {
    expect(() => sampleWindows(files, { ...infill, before: 200 }, 1, 1, 256)).toThrow(
      /exceeds the model's max length 256/,
    );
  });

  it('refuses to draw more windows than the data holds', () => {
    const tiny = [file('t.py', 50, 0)];
    expect(() => sampleWindows(tiny, infill, 10, 1, 256)).toThrow(/only 3 windows/);
  });
});

describe('listSourceFiles', () => {
  it('lists *.py recursively in sorted order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-data-'));
    mkdirSync(join(dir, 'pkg'));
    for (const f of ['z.py', 'pkg/a.py', 'a.py', 'notes.txt'])
      writeFileSync(join(dir, f), 'x = 1\n');
    expect(listSourceFiles(dir, '/unused').map((p) => p.slice(dir.length + 1))).toEqual([
      'a.py',
      'pkg/a.py',
      'z.py',
    ]);
  });
});

describe('TASKS', () => {
  it('every task fits the bundled model (max length 256)', () => {
    const big = [file('big.py', 5000, 0)];
    for (const t of TASKS) {
      for (const w of sampleWindows(big, t.shape, 5, 1, 256)) {
        expect(w.before.length + w.span.length + w.after.length).toBeLessThanOrEqual(256);
      }
    }
  });
});
