import { EventEmitter } from 'node:events';
import { encodeEvent, loadConfig, type BatchEntity, type BatchEvent } from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { HttpRequest, HttpResponse } from '../../common/http';
import type { BatchEventReader } from '../../events/batch-event-reader';
import type { BatchesRepository } from '../batches.repository';
import { CanvasStream } from './canvas-stream';

/** A response whose socket buffer is "full" until drain() is called: write() returns false. */
class SlowResponse extends EventEmitter {
  statusCode = 0;
  writes: string[] = [];
  full = false;
  destroyed = false;
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
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

// The fields `event: done` renders (batchView) besides the ones the stream reads.
const batch = (status: BatchEntity['status']) =>
  ({
    id: 'b',
    tenant: 't',
    status,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    expiresAt: new Date('2026-01-02T00:00:00Z'),
    inProgressAt: null,
    completedAt: null,
    failedAt: null,
    cancelledAt: null,
    expiredAt: null,
    timedCount: 0,
  }) as unknown as BatchEntity;
const frame = (step: number): BatchEvent => ({
  type: 'canvas',
  frame: { index: 0, step, text: 'x'.repeat(1000), masked: 0 },
});
const frames = (res: SlowResponse) =>
  res.writes.filter((w) => w.includes('event: canvas')).map((w) => /"step":(\d+)/.exec(w)![1]);
const tick = () => new Promise((r) => setImmediate(r));

function setup(status: BatchEntity['status'], stored: number) {
  let listener!: (event: BatchEvent, id: string) => void;
  const reads: number[] = [];
  const entries = Array.from(
    { length: stored },
    (_, i) => [`1-${i + 1}`, encodeEvent(frame(i + 1))] as [string, string[]],
  );
  const redis = {
    xrange: (_key: string, from: string, _to: string, _c: string, count: number) => {
      const after = Number(from.slice(1).split('-')[1]);
      reads.push(after);
      return Promise.resolve(entries.slice(after, after + count));
    },
  } as unknown as Redis;
  const events = {
    watch: (_b: string, _from: string, l: typeof listener) => {
      listener = l;
      return Promise.resolve(() => undefined);
    },
  } as unknown as BatchEventReader;
  const stream = new CanvasStream(
    { findOwned: () => Promise.resolve(batch('completed')) } as unknown as BatchesRepository,
    events,
    redis,
    loadConfig({ CANVAS_BUFFER_KB: '16', SSE_SLOW_READER_MS: '60000' }),
  );
  const res = new SlowResponse();
  const done = stream.relay(
    batch(status),
    { headers: {} } as HttpRequest,
    res as unknown as HttpResponse,
  );
  return { res, done, reads, push: (e: BatchEvent, id: string) => listener(e, id) };
}

describe('CanvasStream backpressure', () => {
  it('replays an ended batch one page at a time, reading the next only once the reader took the last', async () => {
    const { res, done, reads } = setup('completed', 1200);
    res.full = true;
    await tick();
    expect(reads).toEqual([0]); // one page read, then it waits for the socket
    res.drain();
    res.full = true;
    await tick();
    expect(reads).toEqual([0, 500]);
    res.drain();
    await done;
    expect(reads).toEqual([0, 500, 1000]);
    expect(frames(res)).toHaveLength(1200);
    expect(res.writes.at(-1)).toMatch(/^event: done/);
  });

  it('holds live frames past a full socket and writes them in order on drain', async () => {
    const { res, push, done } = setup('in_progress', 0);
    await tick();
    res.full = true;
    for (let step = 1; step <= 5; step++) push(frame(step), `1-${step}`);
    expect(frames(res)).toEqual(['1']);
    res.drain();
    expect(frames(res)).toEqual(['1', '2', '3', '4', '5']);
    expect(res.destroyed).toBe(false);
    res.destroy(); // the client leaves: the stream ends
    await done;
  });

  it('cuts off a live reader that falls more than CANVAS_BUFFER_KB behind', async () => {
    const { res, push, done } = setup('in_progress', 0);
    await tick();
    res.full = true;
    for (let step = 1; step <= 40; step++) push(frame(step), `1-${step}`);
    await done;
    expect(res.destroyed).toBe(true);
    expect(res.writes.length).toBe(1); // nothing past the first frame went to the socket
  });
});
