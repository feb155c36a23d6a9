import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkJobData } from '../queue/chunk-queue';

/**
 * Where a chunk job stands in Redis, as far as repair cares:
 * - running: active and locked (a worker holds it)
 * - waiting: will be taken (wait, delayed, prioritized, paused)
 * - orphaned: active but its lock is gone (its worker died; no stalled check moved it yet)
 * - failed: BullMQ gave up on it (retries spent, or stalled too often)
 * - missing: not in Redis at all (flushed, lost, or finished and removed)
 */
export type ChunkState = 'running' | 'waiting' | 'orphaned' | 'failed' | 'missing';

export interface ChunkStatus {
  state: ChunkState;
  /** failed because its workers kept dying (BullMQ's stalled limit), not because of an error */
  stalled: boolean;
}

/** Commands per pipeline: one round trip each, without one huge reply. */
const PER_PIPELINE = 500;

/** Reads the states of many chunk jobs with a few pipelined round trips (no Lua, no scans). */
export async function chunkStates(
  client: Redis,
  queue: Pick<Queue<ChunkJobData>, 'toKey'>,
  jobIds: readonly string[],
): Promise<Map<string, ChunkStatus>> {
  const states = new Map<string, ChunkStatus>();
  for (let start = 0; start < jobIds.length; start += PER_PIPELINE) {
    const ids = jobIds.slice(start, start + PER_PIPELINE);
    const pipeline = client.pipeline();
    for (const id of ids) {
      const jobKey = queue.toKey(id);
      pipeline.exists(jobKey);
      pipeline.zscore(queue.toKey('failed'), id);
      pipeline.zscore(queue.toKey('completed'), id);
      pipeline.lpos(queue.toKey('active'), id);
      pipeline.exists(`${jobKey}:lock`);
      pipeline.hget(jobKey, 'failedReason');
    }
    const replies = (await pipeline.exec()) ?? [];
    ids.forEach((id, k) => {
      const reply = (n: number): unknown => {
        const [error, value] = replies[k * 6 + n] ?? [new Error('no reply'), null];
        if (error) throw error;
        return value;
      };
      const exists = reply(0) === 1;
      const failed = reply(1) !== null;
      const completed = reply(2) !== null;
      const active = reply(3) !== null;
      const locked = reply(4) === 1;
      const reason = reply(5);
      let state: ChunkState;
      if (!exists || completed) state = 'missing';
      else if (failed) state = 'failed';
      else if (active) state = locked ? 'running' : 'orphaned';
      else state = 'waiting';
      states.set(id, {
        state,
        stalled: state === 'failed' && typeof reason === 'string' && /stalled/i.test(reason),
      });
    });
  }
  return states;
}
