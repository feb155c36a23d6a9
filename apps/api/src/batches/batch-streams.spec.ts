import { EventEmitter } from 'node:events';
import { loadConfig, type BatchEntity } from '@dllm/shared';
import type { HttpRequest, HttpResponse } from '../common/http';
import { BatchStreams } from './batch-streams';
import type { BatchWatcher } from './batch-watcher';
import type { BatchesRepository } from './batches.repository';

const batch = (completed: number, status: BatchEntity['status'] = 'in_progress') =>
  ({
    id: 'b',
    tenant: 't',
    status,
    totalCount: 10,
    completedCount: completed,
    failedCount: 0,
    cancelledCount: 0,
    expiredCount: 0,
    totalTokens: completed,
    enqueuedAt: null,
    createdAt: new Date(0),
    expiresAt: new Date(86_400_000),
  }) as unknown as BatchEntity;

/** A response whose socket buffer is "full" until drain() is called: write() returns false. */
class SlowResponse extends EventEmitter {
  statusCode = 0;
  writes: string[] = [];
  full = false;
  destroyed = false;
  writableEnded = false;
  setHeader(): void {}
  flushHeaders(): void {}
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return !this.full;
  }
  drain(): void {
    this.full = false;
    this.emit('drain');
  }
  end(): void {
    this.writableEnded = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function setup(slowReaderMs = 10_000) {
  let listener!: (b: BatchEntity | null) => void;
  const watcher = {
    watch: (_id: string, l: (b: BatchEntity | null) => void) => ((listener = l), () => undefined),
  } as unknown as BatchWatcher;
  const streams = new BatchStreams(
    {} as BatchesRepository,
    watcher,
    loadConfig({
      SSE_SLOW_READER_MS: String(Math.max(1000, slowReaderMs)),
      SSE_HEARTBEAT_MS: '60000',
    }),
  );
  const res = new SlowResponse();
  const done = streams.events(batch(0), {} as HttpRequest, res as unknown as HttpResponse);
  const events = () =>
    res.writes
      .filter((w) => w.startsWith('id:'))
      .map(
        (w) =>
          JSON.parse(w.split('data: ')[1]!) as {
            request_counts: { completed: number };
            status: string;
          },
      );
  return { res, done, events, push: (b: BatchEntity | null) => listener(b) };
}

describe('BatchStreams.events (SSE)', () => {
  it('holds at most one event past a full socket buffer: states that arrive meanwhile collapse into the latest', async () => {
    const { res, events, push, done } = setup();
    expect(events().map((e) => e.request_counts.completed)).toEqual([0]);
    res.full = true;
    push(batch(1)); // written, and the buffer is now full
    push(batch(2));
    push(batch(3));
    push(batch(4));
    expect(events().map((e) => e.request_counts.completed)).toEqual([0, 1]);
    res.drain();
    expect(events().map((e) => e.request_counts.completed)).toEqual([0, 1, 4]);
    push(batch(10, 'completed'));
    await done;
    expect(events().at(-1)!.status).toBe('completed');
    expect(res.writableEnded).toBe(true);
  });

  it('cuts off a reader that takes nothing for SSE_SLOW_READER_MS', async () => {
    jest.useFakeTimers();
    try {
      const { res, push, done } = setup(1000);
      res.full = true;
      push(batch(1));
      jest.advanceTimersByTime(1000);
      await done;
      expect(res.destroyed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ends the stream when the batch is gone', async () => {
    const { res, push, done } = setup();
    push(null);
    await done;
    expect(res.writableEnded).toBe(true);
  });
});
