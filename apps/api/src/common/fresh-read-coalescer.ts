/**
 * Shares one read among callers who ask for the same key at once, without ever answering a
 * caller from a read that started before it asked.
 *
 * Status polling is many clients asking for the same row in a loop; each read is a Postgres round
 * trip whose cost is mostly the two processes' socket work, not the query. Plain single-flight
 * (join whatever read is in flight) would halve that, but a caller who committed a write a moment
 * ago (a cancel, say) could join a read that began before the commit and see the old row. Here a
 * caller arriving while a read runs waits for the next one, which starts when the running read
 * ends and is shared by everyone who arrived meanwhile. Every answer is therefore a snapshot
 * taken after its caller arrived (read-your-writes holds), and a key with N callers in a loop
 * costs about one read per read-time instead of N.
 *
 * The shared value is frozen: callers get the same object and must not change it.
 */
export class FreshReadCoalescer<V> {
  private readonly keys = new Map<string, { running: Promise<V>; next?: Promise<V> }>();

  read(key: string, load: () => Promise<V>): Promise<V> {
    const slot = this.keys.get(key);
    if (!slot) return this.start(key, load);
    // the running read may have begun before this caller's writes: wait for the next one
    slot.next ??= slot.running.then(
      () => this.start(key, load),
      () => this.start(key, load),
    );
    return slot.next;
  }

  /** Keys with a read running or queued (tests check that idle keys are dropped). */
  get inFlight(): number {
    return this.keys.size;
  }

  private start(key: string, load: () => Promise<V>): Promise<V> {
    const running = Promise.resolve()
      .then(load)
      .then((v) => (v !== null && typeof v === 'object' ? Object.freeze(v) : v));
    const slot = { running } as { running: Promise<V>; next?: Promise<V> };
    this.keys.set(key, slot);
    const settle = () => {
      // the queued read (if any) takes the slot over in start(); otherwise the key is idle
      if (this.keys.get(key) === slot && slot.next === undefined) this.keys.delete(key);
    };
    running.then(settle, settle);
    return running;
  }
}
