import type { BatchProgress, ItemOutcome } from '@dllm/shared';
import { ResultWriter } from './result-writer';

const outcome = (index: number): ItemOutcome => ({
  batchId: 'b',
  index,
  status: 'completed',
  output: `out ${index}`,
});
const progress = (closed = false): BatchProgress => ({
  batchId: 'b',
  status: closed ? 'completed' : 'in_progress',
  counts: { total: 3, completed: 0, failed: 0, cancelled: 0, expired: 0 },
  written: 0,
  closed,
});

describe('ResultWriter', () => {
  it('writes many results in one call once maxRows wait', async () => {
    const calls: number[][] = [];
    const writer = new ResultWriter(
      async (o) => (calls.push(o.map((x) => x.index)), [progress()]),
      { maxRows: 3, flushMs: 10_000, attempts: 1, backoffMs: 1 },
    );
    await Promise.all([0, 1, 2].map((i) => writer.write(outcome(i))));
    expect(calls).toEqual([[0, 1, 2]]);
  });

  it('flushes a partial batch after flushMs', async () => {
    const calls: number[][] = [];
    const writer = new ResultWriter(async (o) => (calls.push(o.map((x) => x.index)), []), {
      maxRows: 100,
      flushMs: 20,
      attempts: 1,
      backoffMs: 1,
    });
    await writer.write(outcome(7));
    expect(calls).toEqual([[7]]);
  });

  it('retries a failed write (a Postgres blip) and resolves once it lands', async () => {
    let failures = 2;
    const retries: number[] = [];
    const writer = new ResultWriter(
      async () => {
        if (failures-- > 0) throw new Error('connection reset');
        return [progress(true)];
      },
      { maxRows: 1, flushMs: 10, attempts: 5, backoffMs: 1, onRetry: (_e, n) => retries.push(n) },
    );
    await writer.write(outcome(1));
    expect(retries).toEqual([1, 2]);
  });

  it('rejects its callers when every attempt fails, and keeps working after', async () => {
    let down = true;
    const writer = new ResultWriter(
      async () => {
        if (down) throw new Error('database down');
        return [];
      },
      { maxRows: 1, flushMs: 10, attempts: 2, backoffMs: 1 },
    );
    await expect(writer.write(outcome(1))).rejects.toThrow('database down');
    down = false;
    await expect(writer.write(outcome(2))).resolves.toBeUndefined();
  });

  it('reports batches its writes closed', async () => {
    const closed: string[] = [];
    const writer = new ResultWriter(async () => [progress(true)], {
      maxRows: 1,
      flushMs: 10,
      attempts: 1,
      backoffMs: 1,
      onClosed: (p) => closed.push(p.status),
    });
    await writer.write(outcome(1));
    expect(closed).toEqual(['completed']);
  });

  it('writes rows one by one when a flush fails for a row: only the guilty row fails, as unstorable_result', async () => {
    const calls: number[][] = [];
    const refused = Object.assign(new Error('integer out of range'), { code: '22003' });
    const unstorable: number[] = [];
    const writer = new ResultWriter(
      async (o) => {
        calls.push(o.map((x) => x.index));
        if (o.some((x) => x.index === 1 && x.status === 'completed')) throw refused;
        return [];
      },
      {
        maxRows: 3,
        flushMs: 10_000,
        attempts: 5,
        backoffMs: 1,
        onUnstorable: (o) => unstorable.push(o.index),
      },
    );
    await Promise.all([0, 1, 2].map((i) => writer.write(outcome(i))));
    // the batch once (no blind retries of a data error), then each row alone, then the guilty one as failed
    expect(calls).toEqual([[0, 1, 2], [0], [1], [1], [2]]);
    expect(unstorable).toEqual([1]);
  });

  it('does not split a flush the server failed (connection lost): every row waits for the retry', async () => {
    const calls: number[][] = [];
    let failures = 1;
    const writer = new ResultWriter(
      async (o) => {
        calls.push(o.map((x) => x.index));
        if (failures-- > 0)
          throw Object.assign(new Error('terminating connection'), { code: '57P01' });
        return [];
      },
      { maxRows: 2, flushMs: 10_000, attempts: 3, backoffMs: 1 },
    );
    await Promise.all([0, 1].map((i) => writer.write(outcome(i))));
    expect(calls).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });
});
