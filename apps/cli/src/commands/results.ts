import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import type { ApiClient } from '../client/api-client';
import { isTerminalBatchStatus, type BatchView as Batch } from '@dllm/contract';
import { ended } from '../batch-counts';
import { EXIT } from '../exit-codes';
import { clientOf, exiting, say } from './context';

export type ResultsFormat = 'default' | 'openai';

/** Streams a batch's results (JSONL, by item index) to a file or stdout; returns the lines written. */
export async function downloadResults(
  client: ApiClient,
  id: string,
  format: ResultsFormat,
  outFile: string | undefined,
): Promise<number> {
  const res = await client.stream(
    `/v1/batches/${id}/results${format === 'openai' ? '?format=openai' : ''}`,
  );
  let lines = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 0x0a) lines++;
  });
  const sink: Writable = outFile ? createWriteStream(outFile) : process.stdout;
  await pipeline(body, sink, { end: outFile !== undefined });
  return lines;
}

export function resultsCommand(): Command {
  return new Command('results')
    .description(
      "write a batch's results as JSONL (one line per ended item, by index) to stdout or --out",
    )
    .argument('<id>', 'batch id')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .addOption(
      new Option(
        '--format <format>',
        'default: our result lines; openai: OpenAI batch output lines',
      )
        .choices(['default', 'openai'])
        .default('default'),
    )
    .action(
      exiting(
        async (id: string, opts: { out?: string; format: ResultsFormat }, command: Command) => {
          const client = clientOf(command);
          const { body: batch } = await client.json<Batch>('GET', `/v1/batches/${id}?view=native`);
          if (!isTerminalBatchStatus(batch.status)) {
            say(
              `batch ${id} is ${batch.status}: these are the ${ended(batch)} of ${batch.request_counts.total} results so far`,
            );
          }
          const lines = await downloadResults(client, id, opts.format, opts.out);
          if (opts.out) say(`${lines} results -> ${opts.out}`);
          return EXIT.ok;
        },
      ),
    );
}
