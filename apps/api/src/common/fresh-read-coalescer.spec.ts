import { FreshReadCoalescer } from './fresh-read-coalescer';

/** A load whose reads the test ends by hand, recording when each one started. */
function manualLoads() {
  const reads: Array<{ resolve: (v: { n: number }) => void; reject: (e: Error) => void }> = [];
  const load = () =>
    new Promise<{ n: number }>((resolve, reject) => reads.push({ resolve, reject }));
  return { reads, load };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('FreshReadCoalescer', () => {
  it('shares one read among the callers who arrive while another runs, and starts it only after', async () => {
    const c = new FreshReadCoalescer<{ n: number }>();
    const { reads, load } = manualLoads();
    const first = c.read('k', load);
    await turn();
    expect(reads).toHaveLength(1);
    // these arrive while read 1 runs: it may predate their writes, so they wait for read 2
    const second = c.read('k', load);
    const third = c.read('k', load);
    await turn();
    expect(reads).toHaveLength(1);
    reads[0]!.resolve({ n: 1 });
    await expect(first).resolves.toEqual({ n: 1 });
    await turn();
    expect(reads).toHaveLength(2); // read 2 began after both arrived
    reads[1]!.resolve({ n: 2 });
    const [a, b] = await Promise.all([second, third]);
    expect(a).toEqual({ n: 2 });
    expect(b).toBe(a); // one object, shared
    expect(Object.isFrozen(a)).toBe(true);
    expect(c.inFlight).toBe(0);
  });

  it('keeps keys apart', async () => {
    const c = new FreshReadCoalescer<{ n: number }>();
    const { reads, load } = manualLoads();
    const x = c.read('x', load);
    const y = c.read('y', load);
    await turn();
    expect(reads).toHaveLength(2);
    reads[0]!.resolve({ n: 1 });
    reads[1]!.resolve({ n: 2 });
    expect(await x).toEqual({ n: 1 });
    expect(await y).toEqual({ n: 2 });
  });

  it('gives a failed read to its callers only, and the next caller a fresh read', async () => {
    const c = new FreshReadCoalescer<{ n: number }>();
    const { reads, load } = manualLoads();
    const first = c.read('k', load);
    await turn();
    const waiting = c.read('k', load);
    reads[0]!.reject(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await turn();
    expect(reads).toHaveLength(2); // the waiter's own read, not the failed one
    reads[1]!.resolve({ n: 3 });
    await expect(waiting).resolves.toEqual({ n: 3 });
    expect(c.inFlight).toBe(0);
    const later = c.read('k', load);
    await turn();
    expect(reads).toHaveLength(3);
    reads[2]!.resolve({ n: 4 });
    await expect(later).resolves.toEqual({ n: 4 });
  });

  it('passes a missing row (null) through unfrozen', async () => {
    const c = new FreshReadCoalescer<{ n: number } | null>();
    await expect(c.read('k', () => Promise.resolve(null))).resolves.toBeNull();
  });
});
