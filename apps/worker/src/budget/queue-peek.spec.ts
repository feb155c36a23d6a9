import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { ChunkJobData } from '@dllm/shared';
import { QueuePeek } from './queue-peek';

const T0 = Date.parse('2026-05-01T12:00:00Z');

function setup(jobs: ChunkJobData[], total: number) {
  const queries: string[][] = [];
  const queue = {
    getJobs: () => Promise.resolve(jobs.map((data) => ({ data }))),
    getJobCountByTypes: () => Promise.resolve(total),
  } as unknown as Pick<Queue<ChunkJobData>, 'getJobs' | 'getJobCountByTypes'>;
  const dataSource = {
    query: (_sql: string, [ids]: [string[]]) => {
      queries.push(ids);
      return Promise.resolve(
        [
          {
            id: 'b1',
            params: { budget: 'auto', deadline: '10m', gen_length: 16 },
            created_at: new Date(T0),
          },
          { id: 'b2', params: { budget: 'auto', policy: 'entropy' }, created_at: new Date(T0) },
        ].filter((r) => ids.includes(r.id)),
      );
    },
  };
  return {
    peek: new QueuePeek(queue, dataSource as unknown as Pick<DataSource, 'query'>, 8),
    queries,
  };
}

describe('QueuePeek', () => {
  it("weighs seen chunks by their batch's defaults, counts the rest, and reads each batch once", async () => {
    const { peek, queries } = setup(
      [
        { batchId: 'b1', chunk: 0, firstIndex: 0, lastIndex: 7 },
        { batchId: 'b1', chunk: 1, firstIndex: 8, lastIndex: 10 },
        { batchId: 'gone', chunk: 0, firstIndex: 0, lastIndex: 7 },
        { batchId: 'b2', chunk: 0, firstIndex: 0, lastIndex: 7 },
      ],
      10,
    );
    const w = await peek.waiting();
    expect(w.unseenChunks).toBe(6);
    expect(w.chunks.map((c) => c.items)).toEqual([8, 3, 8, 8]);
    expect(w.chunks[0]!.item).toMatchObject({ tokens: 16, deadline: T0 + 600_000, budget: 'auto' });
    // a deleted batch, and defaults that no longer parse: deadline-free work
    expect(w.chunks[2]!.item).toBeNull();
    expect(w.chunks[3]!.item).toBeNull();
    await peek.waiting();
    expect(queries).toEqual([['b1', 'gone', 'b2']]);
  });
});
