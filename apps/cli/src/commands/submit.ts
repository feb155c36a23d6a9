import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ApiRefusal } from '../client/api-client';
import type { BatchView as Batch } from '@dllm/contract';
import { CliError, EXIT } from '../exit-codes';
import { buildSubmitRequest, type SubmitRequest } from '../submit-file';
import { clientOf, exiting, keyValue, out, positiveNumber, say } from './context';
import { downloadResults, type ResultsFormat } from './results';
import { exitCodeOf, waitForBatch } from '../wait';

export interface WaitFlags {
  wait?: boolean;
  out?: string;
  format: ResultsFormat;
  timeout?: number;
  progress: boolean;
  json?: boolean;
}

/** --wait / --out / --timeout / --no-progress / --json, shared by submit, retry and status. */
export function withWaitOptions(command: Command, results = true): Command {
  command
    .option(
      '-w, --wait',
      'wait for the batch to end, with a progress bar; the exit code tells how it ended',
    )
    .option(
      '--timeout <seconds>',
      'with --wait: give up after this long (exit 6; the batch goes on)',
      positiveNumber,
    )
    .option('--no-progress', 'no progress bar while waiting')
    .option('--json', 'print the batch as JSON instead of its id');
  if (results) {
    command
      .option('-o, --out <file>', 'wait, then write the results (JSONL) to this file')
      .addOption(
        new Option('--format <format>', 'results format for --out')
          .choices(['default', 'openai'])
          .default('default'),
      );
  }
  return command;
}

/** After a batch was made: print it, and with --wait/--out follow it to the end. Returns the exit code. */
export async function followBatch(
  command: Command,
  batch: Batch,
  flags: WaitFlags,
): Promise<number> {
  const client = clientOf(command);
  if (!flags.wait && !flags.out) {
    out(flags.json ? JSON.stringify(batch, null, 2) : batch.id);
    return EXIT.ok;
  }
  if (!flags.json) out(batch.id);
  const final = await waitForBatch(client, batch.id, {
    timeoutS: flags.timeout,
    progress: flags.progress,
  });
  const c = final.request_counts;
  say(
    `batch ${final.id} ${final.status}: ${c.completed}/${c.total} completed, ${c.failed} failed, ${c.expired} expired, ${c.cancelled} cancelled` +
      (final.timing.tokens_per_second !== null
        ? `; ${final.timing.tokens} tokens, ${final.timing.tokens_per_second} tokens/s`
        : ''),
  );
  if (flags.json) out(JSON.stringify(final, null, 2));
  if (flags.out) {
    const lines = await downloadResults(client, final.id, flags.format, flags.out);
    say(`${lines} results -> ${flags.out}`);
  }
  return exitCodeOf(final);
}

/** The API's problems with a refused batch, by line for a JSONL file. */
function explain(refusal: ApiRefusal, request: SubmitRequest): CliError {
  const lineOf = request.format === 'jsonl' ? request.lineOfIndex : undefined;
  const lines = refusal.problems.map((p) => {
    const where =
      p.line !== undefined
        ? `line ${p.line}`
        : p.index !== undefined
          ? lineOf?.[p.index] !== undefined
            ? `line ${lineOf[p.index]}`
            : `item ${p.index}`
          : '';
    return [where, p.field, p.message].filter(Boolean).join(': ');
  });
  return new CliError(refusal.exitCode, refusal.message, lines);
}

export function submitCommand(): Command {
  const command = new Command('submit')
    .description(
      'submit a batch file: a JSON body {items: [...]}, JSONL items ({custom_id, prompt | prefix + suffix, ...params}), or OpenAI batch JSONL; prints the batch id',
    )
    .argument('<file>', 'the batch file ("-" reads stdin)')
    .option('-m, --model <name>', 'model (native files)')
    .option(
      '--completion-window <window>',
      'seconds, or "90m", "24h", "2d"; items not started by then expire',
    )
    .option(
      '--metadata <key=value>',
      'label the batch (repeatable); filter with dllm list --metadata',
      keyValue,
    )
    .option(
      '--idempotency-key <key>',
      'resubmitting with the same key and file returns the same batch',
    );
  withWaitOptions(command).action(
    exiting(
      async (
        file: string,
        opts: WaitFlags & {
          model?: string;
          completionWindow?: string;
          metadata?: Record<string, string>;
          idempotencyKey?: string;
        },
        cmd: Command,
      ) => {
        let text: string;
        try {
          text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
        } catch (error) {
          throw new CliError(
            EXIT.usage,
            `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          );
        }
        const request = buildSubmitRequest(text, {
          model: opts.model,
          completionWindow: opts.completionWindow,
          metadata: opts.metadata,
        });
        const client = clientOf(cmd);
        const query =
          request.format === 'openai' && request.query.size > 0
            ? `?${request.query.toString()}`
            : '';
        let batch: Batch;
        try {
          const res = await client.json<Batch>('POST', `/v1/batches${query}`, {
            body: request.body,
            contentType: request.contentType,
            headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
          });
          batch = res.body;
          say(
            `${res.status === 200 ? 'already submitted' : 'submitted'}: batch ${batch.id}, ${batch.request_counts.total} items (${describeFormat(request)})`,
          );
        } catch (error) {
          throw error instanceof ApiRefusal ? explain(error, request) : error;
        }
        return followBatch(cmd, batch, opts);
      },
    ),
  );
  return command;
}

const describeFormat = (r: SubmitRequest): string =>
  r.format === 'openai' ? 'OpenAI batch JSONL' : r.format === 'jsonl' ? 'JSONL items' : 'JSON';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
