import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

// The importer is Python (tools/import); its unit tests are unittest scripts run here so that
// `npm test` (and CI) runs them. Debian's python3 has numpy/torch/onnx (scripts/ensure-python-deps.sh).
const dir = join(__dirname, 'tests');
const scripts = readdirSync(dir)
  .filter((f) => /^test_.*\.py$/.test(f))
  .sort();

describe('tools/import Python tests', () => {
  it('finds the test scripts', () => expect(scripts.length).toBeGreaterThanOrEqual(3));

  it.each(scripts)(
    '%s passes',
    (script) => {
      const run = spawnSync('/usr/bin/python3', [join(dir, script)], {
        encoding: 'utf8',
        // ~40-60 s each on an idle 2-core machine; a loaded shared one can take several times that
        timeout: 300_000,
      });
      if (run.status !== 0) throw new Error(`${script} failed:\n${run.stdout}\n${run.stderr}`);
      expect(run.stderr).toMatch(/\nOK/);
    },
    310_000,
  );
});
