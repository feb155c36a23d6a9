/**
 * What `dllm` exits with, so scripts can branch on it (documented in the README and `dllm --help`).
 */
export const EXIT = {
  /** done; with --wait, the batch completed with every item completed */
  ok: 0,
  /** the batch ended, but not every item completed (failed, expired or cancelled items) */
  itemsNotCompleted: 1,
  /** bad arguments, or an input file that cannot be read or understood */
  usage: 2,
  /** no API key, or the API refused it (401) */
  auth: 3,
  /** the API refused the request: invalid batch, unknown batch, nothing to retry, already ended (4xx) */
  rejected: 4,
  /** the API could not be reached or failed (network error, 5xx) */
  unavailable: 5,
  /** --timeout passed while waiting; the batch goes on */
  timeout: 6,
  /** an unexpected error: a bug, please report it */
  internal: 70,
  /** interrupted (Ctrl-C) */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (with --wait: every item completed)
  1  the batch ended, but not every item completed (failed, expired or cancelled items)
  2  usage error: bad arguments, unreadable or malformed input file
  3  authentication: no API key, or the API refused it
  4  the API refused the request (invalid batch, unknown id, nothing to retry, ...)
  5  the API is unreachable or failed
  6  --timeout passed while waiting (the batch goes on)
  70 unexpected error (a bug)
  130 interrupted
dllm generate: 0 every line generated, 1 some lines failed (errors are in the output), 2 usage error.`;

/** An error that ends the command with its exit code and a one-line message (more lines optional). */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly detailLines: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}
