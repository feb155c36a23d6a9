import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The package's `dllm` bin, run as a user runs it (node, from any directory). */
const DLLM = resolve(__dirname, '../../apps/cli/bin/dllm.cjs');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dllm ARGS` in `cwd` with `env` over the test's environment; resolves with its exit code and output. */
export function runDllm(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 150_000,
): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [DLLM, ...args],
      { cwd, env: { ...process.env, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) =>
        done({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}
