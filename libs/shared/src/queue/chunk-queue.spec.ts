import { chunkJobId, chunkJobs } from './chunk-queue';

describe('chunkJobs', () => {
  it('covers every index exactly once, the last chunk shorter', () => {
    expect(chunkJobs('b', 70, 32)).toEqual([
      { batchId: 'b', chunk: 0, firstIndex: 0, lastIndex: 31 },
      { batchId: 'b', chunk: 1, firstIndex: 32, lastIndex: 63 },
      { batchId: 'b', chunk: 2, firstIndex: 64, lastIndex: 69 },
    ]);
  });

  it('gives an exact multiple whole chunks and no empty one', () => {
    expect(chunkJobs('b', 64, 32).map((j) => j.lastIndex)).toEqual([31, 63]);
    expect(chunkJobs('b', 0, 32)).toEqual([]);
  });
});

describe('chunkJobId', () => {
  it('is stable per (batch, chunk) and free of ":" (BullMQ rejects custom ids with one)', () => {
    const id = chunkJobId('0b6c9d7e-1111-4222-8333-444455556666', 3);
    expect(id).toBe('0b6c9d7e-1111-4222-8333-444455556666_3');
    expect(id).not.toContain(':');
  });
});
