import { Command } from 'commander';
import type { BatchView as Batch, Page } from '@dllm/contract';
import { EXIT } from '../exit-codes';
import { batchTable, describeBatch } from '../format';
import { clientOf, exiting, keyValue, out, positiveNumber, say } from './context';
import { followBatch, withWaitOptions, type WaitFlags } from './submit';
import { exitCodeOf, waitForBatch } from '../wait';

export function statusCommand(): Command {
  const command = new Command('status')
    .description("a batch's status, counts and throughput")
    .argument('<id>', 'batch id');
  withWaitOptions(command, false).action(
    exiting(async (id: string, opts: WaitFlags, cmd: Command) => {
      const client = clientOf(cmd);
      let { body: batch } = await client.json<Batch>('GET', `/v1/batches/${id}?view=native`);
      if (opts.wait)
        batch = await waitForBatch(client, id, { timeoutS: opts.timeout, progress: opts.progress });
      out(opts.json ? JSON.stringify(batch, null, 2) : describeBatch(batch));
      return opts.wait ? exitCodeOf(batch) : EXIT.ok;
    }),
  );
  return command;
}

interface ListFlags {
  status?: string;
  model?: string;
  createdAfter?: string;
  createdBefore?: string;
  metadata?: Record<string, string>;
  limit?: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

export function listCommand(): Command {
  return new Command('list')
    .description('batch history, newest first, with the API filters')
    .option(
      '--status <list>',
      'comma-separated: queued, in_progress, completed, failed, cancelling, cancelled, expired',
    )
    .option('--model <name>')
    .option('--created-after <time>', 'ISO 8601 or unix seconds')
    .option('--created-before <time>', 'ISO 8601 or unix seconds')
    .option('--metadata <key=value>', 'only batches with this label (repeatable)', keyValue)
    .option('--limit <n>', 'batches per page (1-100, default 20)', positiveNumber)
    .option('--cursor <cursor>', 'continue from a next_cursor')
    .option('--all', 'follow every page')
    .option('--json', 'print the page as JSON (with --all, every batch in data)')
    .action(
      exiting(async (opts: ListFlags, cmd: Command) => {
        const client = clientOf(cmd);
        // native shape for every batch, also those made from OpenAI input files
        const query = new URLSearchParams({ view: 'native' });
        if (opts.status) query.set('status', opts.status);
        if (opts.model) query.set('model', opts.model);
        if (opts.createdAfter) query.set('created_after', opts.createdAfter);
        if (opts.createdBefore) query.set('created_before', opts.createdBefore);
        for (const [k, v] of Object.entries(opts.metadata ?? {})) query.set(`metadata[${k}]`, v);
        if (opts.limit !== undefined) query.set('limit', String(opts.limit));
        let cursor = opts.cursor;
        const batches: Batch[] = [];
        let page: Page<Batch>;
        do {
          if (cursor) query.set('cursor', cursor);
          page = (await client.json<Page<Batch>>('GET', `/v1/batches?${query.toString()}`)).body;
          batches.push(...page.data);
          cursor = page.next_cursor ?? undefined;
        } while (opts.all && cursor);
        if (opts.json) {
          out(
            JSON.stringify(
              {
                object: 'list',
                data: batches,
                has_more: page.has_more,
                next_cursor: page.next_cursor,
              },
              null,
              2,
            ),
          );
        } else {
          out(batches.length > 0 ? batchTable(batches) : 'no batches');
          if (page.next_cursor && !opts.all)
            say(`more: dllm list --cursor ${page.next_cursor} (or --all)`);
        }
        return EXIT.ok;
      }),
    );
}

export function cancelCommand(): Command {
  return new Command('cancel')
    .description(
      'cancel a batch: queued items end now, running ones at their next step; results so far are kept',
    )
    .argument('<id>', 'batch id')
    .option('--json', 'print the batch as JSON')
    .action(
      exiting(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const { body: batch } = await clientOf(cmd).json<Batch>(
          'POST',
          `/v1/batches/${id}/cancel?view=native`,
        );
        say(`batch ${batch.id} is ${batch.status}`);
        out(opts.json ? JSON.stringify(batch, null, 2) : batch.id);
        return EXIT.ok;
      }),
    );
}

export function retryCommand(): Command {
  const command = new Command('retry')
    .description(
      "retry an ended batch's failed and expired items as a new batch; prints the new batch id",
    )
    .argument('<id>', 'batch id')
    .option('--idempotency-key <key>', 'repeating with the same key returns the same retry batch');
  withWaitOptions(command).action(
    exiting(async (id: string, opts: WaitFlags & { idempotencyKey?: string }, cmd: Command) => {
      const res = await clientOf(cmd).json<Batch>('POST', `/v1/batches/${id}/retry`, {
        headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
      });
      say(
        `${res.status === 200 ? 'already retried' : 'retrying'}: batch ${res.body.id}, ${res.body.request_counts.total} items of ${id}`,
      );
      return followBatch(cmd, res.body, opts);
    }),
  );
  return command;
}
