import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, staleReason, TARGETS, type Target } from './build-if-stale';

describe('build-if-stale', () => {
  let root: string;
  let target: Target;
  const builds = () => readFileSync(join(root, 'out/count'), 'utf8').length;
  const age = (path: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(join(root, path), t, t);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src/a.ts'), 'export {};\n');
    // a "build" that appends one character per run to its output, so runs can be counted
    target = {
      inputs: ['src'],
      output: 'out/count',
      stamp: 'out/.stamp',
      command: [
        process.execPath,
        '-e',
        "const fs=require('fs');fs.mkdirSync('out',{recursive:true});fs.appendFileSync('out/count','x')",
      ],
    };
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('builds the first time, then not again until a source changes', () => {
    expect(staleReason(target, root)).toBe('not built yet');
    expect(ensureBuilt('t', target, { root })).toBe('built');
    expect(ensureBuilt('t', target, { root })).toBe('up to date');
    expect(builds()).toBe(1);

    age('out/.stamp', 10);
    writeFileSync(join(root, 'src/a.ts'), 'export const changed = 1;\n');
    expect(staleReason(target, root)).toBe('sources changed');
    expect(ensureBuilt('t', target, { root })).toBe('built');
    expect(builds()).toBe(2);
  });

  it('ignores spec files, rebuilds when the output is gone or when forced', () => {
    ensureBuilt('t', target, { root });
    age('src/a.ts', 20);
    age('out/.stamp', 10);
    writeFileSync(join(root, 'src/a.spec.ts'), 'it("x", () => {});\n');
    expect(staleReason(target, root)).toBeNull();
    expect(ensureBuilt('t', target, { root, force: true })).toBe('built');
    expect(builds()).toBe(2);
  });

  it('a failed build leaves no stamp, so the next start builds again', () => {
    target.command = [process.execPath, '-e', 'process.exit(3)'];
    expect(() => ensureBuilt('t', target, { root })).toThrow();
    expect(staleReason(target, root)).toBe('not built yet');
  });

  it("the API's inputs cover the libraries it compiles", () => {
    expect(TARGETS.api!.inputs).toEqual(
      expect.arrayContaining(['apps/api', 'libs/engine/src', 'libs/shared/src', 'tsconfig.json']),
    );
  });
});
