/**
 * The live event path: after each Postgres commit, whoever wrote (a worker, the API on cancel or
 * expiry, the repair loop) appends what changed to the batch's Redis stream; the API reads the
 * streams with one blocking read per process and fans out to every open SSE stream, sync
 * completion, webhook and result file. Postgres stays the truth: events only make things fast,
 * a late reader or a lost event is served from Postgres (and the repair loop re-derives the
 * ended events, see BatchEventLog.rederiveEnded).
 */
import type { BatchEvent, BatchStatus } from '@dllm/contract';

// The event shapes are the wire contract's (libs/contract); this file is their Redis encoding.
export type {
  BatchCounts,
  BatchEnded,
  BatchEvent,
  BatchEventType,
  CanvasFrame,
  ItemEnded,
} from '@dllm/contract';

/**
 * A batch's event stream (under the deployment's prefix, like its queue keys). The key keeps the
 * name it had when the stream carried canvases only.
 */
export function batchEventsKey(prefix: string, batchId: string): string {
  return `${prefix}:canvas:${batchId}`;
}

/** Every batch-ended event of the deployment, for the consumers that follow all batches. */
export function endedBatchesKey(prefix: string): string {
  return `${prefix}:ended-batches`;
}

/**
 * Present while Redis still holds what was appended: the repair loop sets it, and finding it gone
 * (Redis flushed or restarted empty) re-derives the recently ended batches' events.
 */
export function eventsEpochKey(prefix: string): string {
  return `${prefix}:events-epoch`;
}

/**
 * Bounds on a batch's stream: entries kept (approximately; oldest dropped), lifetime after the
 * last (the default of CANVAS_RETENTION_S, which the processes pass to BatchEventLog).
 */
export const BATCH_EVENTS_LIMITS = {
  maxEntries: 20_000,
  ttlSeconds: 3600,
  maxEndedBatches: 10_000,
} as const;

/** A stream entry's fields: [type, <type>, data, <json>] (+ batch, <id> in the ended-batches stream). */
export function encodeEvent(event: BatchEvent, batchId?: string): string[] {
  const data =
    event.type === 'canvas'
      ? event.frame
      : event.type === 'item-ended'
        ? event.item
        : event.type === 'batch-changed'
          ? { status: event.status }
          : event.ended;
  const fields = ['type', event.type, 'data', JSON.stringify(data)];
  if (batchId) fields.push('batch', batchId);
  return fields;
}

/** The event of an entry's fields; null for an entry this version does not know. */
export function decodeEvent(fields: string[]): { event: BatchEvent; batchId?: string } | null {
  const get = (name: string) => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const type = get('type');
  const raw = get('data');
  if (raw === undefined) return null;
  const data = JSON.parse(raw) as never;
  const batchId = get('batch');
  const of = (event: BatchEvent) => ({ event, ...(batchId ? { batchId } : {}) });
  switch (type) {
    case 'canvas':
      return of({ type, frame: data });
    case 'item-ended':
      return of({ type, item: data });
    case 'batch-changed':
      return of({ type, status: (data as { status: BatchStatus }).status });
    case 'batch-ended':
      return of({ type, ended: data });
    default:
      return null;
  }
}

/** Stream ids ("<ms>-<seq>") in order: negative when a is older. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const ms = BigInt(am ?? 0) - BigInt(bm ?? 0);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as ?? 0) - BigInt(bs ?? 0);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
