import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('npm run generate (embedded bulk run)', () => {
  it('writes one line per input line, in order, with errors in place and the run going on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-'));
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    const lines = [
      { custom_id: 'long', prompt: 'def main():', gen_length: 32, policy: 'fixed' },
      'this is not json',
      { custom_id: 'infill', prefix: 'x = [', suffix: ']\n', gen_length: 4 },
      { custom_id: 'bad-param', prompt: 'x', top_p: 3 },
      { custom_id: 'too-long', prompt: 'x = 1\n'.repeat(200) },
      { custom_id: 'short', prompt: 'import os', gen_length: 4, seed: 5 },
    ];
    writeFileSync(
      input,
      lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n\n',
    );
    // Some lines failed: the run goes on, and exits 1 so a script can tell.
    const failed = await run(
      'npx',
      ['tsx', 'apps/cli/src/generate.ts', '--input', input, '--output', output, '--no-progress'],
      { timeout: 120_000 },
    ).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    const stderr = failed!.stderr;
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((o) => o.custom_id)).toEqual([
      'long',
      null,
      'infill',
      'bad-param',
      'too-long',
      'short',
    ]);
    expect(out[0]).toMatchObject({ tokens: 32, steps: 32, finish_reason: 'length' });
    expect(out[1]).toMatchObject({ error: { line: 2 } });
    expect((out[1]!.error as { message: string }).message).toMatch(/^line 2: not valid JSON/);
    expect((out[3]!.error as { message: string }).message).toMatch(/^line 4: top_p: /);
    expect((out[4]!.error as { message: string }).message).toMatch(
      /^line 5: prompt is \d+ tokens; .* max length 256/,
    );
    expect(out[5]).toMatchObject({ tokens: 4, seed: 5 });
    expect(typeof out[2]!.text).toBe('string');
    expect(stderr).toMatch(
      /6 items \(3 errors\), \d+ tokens in [\d.]+s: [\d.]+ tokens\/s, [\d.]+ forwards per item/,
    );
  }, 120_000);
});
