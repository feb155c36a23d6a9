/**
 * `dllm`: the command-line client of the dllm-batch API (submit, wait, results, history, cancel,
 * retry), and `dllm generate` for bulk runs in process without services.
 */
import { Command, CommanderError, Option } from 'commander';
import { cancelCommand, listCommand, retryCommand, statusCommand } from './commands/batch-commands';
import { modelsCommand } from './commands/models';
import { resultsCommand } from './commands/results';
import { submitCommand } from './commands/submit';
import { exiting, recordedExitCode, say } from './commands/context';
import { CliError, EXIT, EXIT_CODES_HELP } from './exit-codes';

export function dllmProgram(): Command {
  const program = new Command('dllm')
    .description(
      'Bulk text generation with diffusion language models: client of the dllm-batch API',
    )
    .addOption(
      new Option('--api-url <url>', 'API base URL')
        .env('DLLM_API_URL')
        .default('http://localhost:8080'),
    )
    .addOption(
      new Option('--api-key <key>', 'API key (prefer the environment: flags show in ps)').env(
        'DLLM_API_KEY',
      ),
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(dllm --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('generate', { hidden: false })
    .description(
      'bulk generation in process, no services: JSONL in, JSONL out (dllm generate --help)',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(
      exiting(async (args: string[]) => {
        // Loaded only here: it loads the engine (onnxruntime), which the API commands never need.
        // require, not import(): the bin runs these sources through tsx's CommonJS hook only.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runGenerate } = require('./generate') as typeof import('./generate');
        return runGenerate(args, 'dllm generate');
      }),
    );
  for (const command of [
    submitCommand(),
    statusCommand(),
    listCommand(),
    resultsCommand(),
    cancelCommand(),
    retryCommand(),
    modelsCommand(),
  ]) {
    program.addCommand(
      command.exitOverride().showHelpAfterError(`(dllm ${command.name()} --help for usage)`),
    );
  }
  return program;
}

/** Runs `dllm` with these arguments; resolves with the exit code. */
export async function runDllm(argv: string[]): Promise<number> {
  const program = dllmProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    return report(error);
  }
  return recordedExitCode(program);
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // help and --version are "errors" to commander; a real usage error was already printed by it
    return error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.help' ||
      error.code === 'commander.version'
      ? EXIT.ok
      : EXIT.usage;
  }
  if (error instanceof CliError) {
    say(`dllm: ${error.message}`);
    for (const line of error.detailLines) say(`  ${line}`);
    return error.exitCode;
  }
  say(`dllm: unexpected error: ${(error as Error).stack ?? String(error)}`);
  return EXIT.internal;
}
