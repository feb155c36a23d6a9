import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's python has torch + onnx (the importer's needs); the pyenv one first in PATH does not. */
const PYTHON = '/usr/bin/python3';
const ROOT = join(__dirname, '../..');

/**
 * Writes a tiny random Hugging Face checkpoint of `family`'s real layout (tools/import/tests
 * family_folder: 2 layers, hidden 32, the real tokenizer metadata and chat template) and imports
 * it with `tools/import/import.py`, as a user would with `npm run import`. Returns the bundle's
 * folder (its name: `name`) and a cleanup.
 */
export function importTinyModel(
  name: string,
  family: 'dream' | 'llada' | 'sdar' | 'fastdllm' | 'qwen2' = 'dream',
): { dir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'dllm-tiny-'));
  const hf = join(root, 'hf');
  const dir = join(root, name);
  const script = [
    'import sys',
    `sys.path[:0] = [${JSON.stringify(join(ROOT, 'tools/import/tests'))}, ${JSON.stringify(join(ROOT, 'tools/import'))}]`,
    'from test_import_parity import family_folder',
    `family_folder(${JSON.stringify(hf)}, ${JSON.stringify(family)})`,
  ].join('\n');
  execFileSync(PYTHON, ['-c', script], { stdio: 'pipe' });
  execFileSync(
    PYTHON,
    [
      join(ROOT, 'tools/import/import.py'),
      ...['--from', hf, '--out', dir, '--max-length', '512'],
      // parity is the importer's own tests' subject; here the bundle is only served
      '--no-parity',
    ],
    { stdio: 'pipe' },
  );
  rmSync(hf, { recursive: true, force: true });
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}
