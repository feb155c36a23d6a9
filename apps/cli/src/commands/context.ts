import type { Command } from 'commander';
import { ApiClient } from '../client/api-client';
import { CliError, EXIT } from '../exit-codes';

/** Options every API command takes (flags on `dllm`, or the environment). */
export interface GlobalOptions {
  apiUrl: string;
  apiKey?: string;
}

export function clientOf(command: Command): ApiClient {
  const { apiUrl, apiKey } = command.optsWithGlobals<GlobalOptions>();
  try {
    new URL(apiUrl);
  } catch {
    throw new CliError(
      EXIT.usage,
      `--api-url / DLLM_API_URL is not a URL: ${JSON.stringify(apiUrl)}`,
    );
  }
  return new ApiClient({ baseUrl: apiUrl, apiKey });
}

/** `--metadata key=value`, repeatable: collected into one object. */
export function keyValue(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new CliError(EXIT.usage, `expected key=value, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(EXIT.usage, `expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

/** Writes to stdout, for what a script captures (ids, JSON, results). */
export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** Writes to stderr, for what a person reads (progress, summaries). */
export const say = (text: string): void => {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
};

const exitCodes = new WeakMap<Command, number>();

const rootOf = (command: Command): Command => (command.parent ? rootOf(command.parent) : command);

/** Wraps a command's action so the exit code it resolves with is what `dllm` exits with. */
export function exiting<A extends unknown[]>(
  action: (...args: A) => Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    exitCodes.set(rootOf(command), await action(...args));
  };
}

/** The exit code the action of this run recorded (0 when it recorded none). */
export const recordedExitCode = (root: Command): number => exitCodes.get(root) ?? EXIT.ok;
