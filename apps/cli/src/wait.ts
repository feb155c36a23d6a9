import { setTimeout as sleep } from 'node:timers/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { ApiClient } from './client/api-client';
import { isTerminalBatchStatus, type BatchView as Batch } from '@dllm/contract';
import { allCompleted, ended } from './batch-counts';
import { CliError, EXIT } from './exit-codes';

export interface WaitOptions {
  /** give up after this many seconds (exit 6); the batch goes on */
  timeoutS?: number;
  /** draw a progress bar on stderr (only drawn on a terminal) */
  progress: boolean;
}

/** Reconnects to the progress stream before giving up (the API restarting ends streams). */
const MAX_RECONNECTS = 10;

/** The bar's line: cli-progress tokens ({duration_formatted} is the elapsed time) and `show`'s payload. */
export const PROGRESS_FORMAT =
  ' {bar} {percentage}% | {value}/{total} items | {failed} failed | {tps} tok/s | {status} | {duration_formatted}';

/**
 * Follows a batch over its server-sent progress events until it ends, drawing a progress bar;
 * reconnects when the stream drops. Returns the final batch.
 */
export async function waitForBatch(
  client: ApiClient,
  id: string,
  options: WaitOptions,
): Promise<Batch> {
  const timeout =
    options.timeoutS !== undefined ? AbortSignal.timeout(options.timeoutS * 1000) : undefined;
  const bar = new SingleBar(
    {
      format: PROGRESS_FORMAT,
      stream: process.stderr,
      hideCursor: true,
      barsize: 30,
    },
    Presets.shades_classic,
  );
  let shown = false;
  const show = (b: Batch): void => {
    if (!options.progress) return;
    const payload = {
      failed: b.request_counts.failed + b.request_counts.expired,
      tps: b.timing.tokens_per_second === null ? '-' : Math.round(b.timing.tokens_per_second),
      status: b.status,
    };
    if (!shown) bar.start(b.request_counts.total, ended(b), payload);
    else bar.update(ended(b), payload);
    shown = true;
  };

  let last: Batch | undefined;
  let drops = 0;
  try {
    for (;;) {
      try {
        for await (const event of client.events(`/v1/batches/${id}/events`, timeout)) {
          if (event.event !== 'progress' && event.event !== 'done') continue;
          last = JSON.parse(event.data) as Batch;
          drops = 0;
          show(last);
          if (event.event === 'done' || isTerminalBatchStatus(last.status)) return last;
        }
      } catch (error) {
        if (timeout?.aborted) break;
        // A refused request (unknown batch, bad key) will not get better by retrying.
        if (
          !(error instanceof CliError) ||
          error.exitCode !== EXIT.unavailable ||
          drops >= MAX_RECONNECTS
        )
          throw error;
      }
      // The stream ended or broke before the batch did: reconnect, backing off.
      if (++drops > MAX_RECONNECTS)
        throw new CliError(EXIT.unavailable, `the progress stream of batch ${id} kept closing`);
      await sleep(
        Math.min(250 * 2 ** drops, 5000),
        undefined,
        timeout ? { signal: timeout } : undefined,
      ).catch(() => undefined);
      if (timeout?.aborted) break;
    }
  } finally {
    if (shown) bar.stop();
  }
  const state = last
    ? `${last.status}, ${ended(last)}/${last.request_counts.total} items ended`
    : 'no progress seen';
  throw new CliError(
    EXIT.timeout,
    `gave up waiting for batch ${id} after ${options.timeoutS}s (${state}); it goes on`,
  );
}

/** The exit code a finished wait reports. */
export const exitCodeOf = (b: Batch): number =>
  allCompleted(b) ? EXIT.ok : EXIT.itemsNotCompleted;
