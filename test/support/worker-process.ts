import { spawn, type ChildProcess } from 'node:child_process';

export interface WorkerHandle {
  child: ChildProcess;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  output: () => string;
  /** the variables it was started with (beyond the parent's environment) */
  env: Record<string, string>;
}

/**
 * Starts apps/worker as a real child process (node + tsx, no npx in between, so signals reach the
 * worker itself).
 */
export function startWorker(env: Record<string, string>): WorkerHandle {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited, output: () => out, env };
}

export { waitFor } from './wait-for';
