/**
 * One row at a time per worker process for suspects (items whose last run ended in a crash):
 * each runs alone in the engine, after a write-ahead count in Postgres, so a crash during its
 * run is blamed on it and on nothing else. A mutex, FIFO.
 */
export class IsolationLane {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** suspects waiting or running in the lane */
  get depth(): number {
    return this.queued;
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(work);
    this.tail = result.then(
      () => (this.queued--, undefined),
      () => (this.queued--, undefined),
    );
    return result;
  }
}
