import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes lines in input order although they complete out of order. */
export class OrderedWriter {
  private readonly ready = new Map<number, string>();
  private next = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly out: Writable) {}

  put(index: number, line: string): void {
    this.ready.set(index, line);
    let chunk = '';
    while (this.ready.has(this.next)) {
      chunk += this.ready.get(this.next)! + '\n';
      this.ready.delete(this.next++);
    }
    if (chunk) {
      // respect back-pressure from the output stream
      this.pending = this.pending.then(async () => {
        if (!this.out.write(chunk)) await once(this.out, 'drain');
      });
    }
  }

  /** Lines held back waiting for an earlier one. */
  get buffered(): number {
    return this.ready.size;
  }

  async flush(): Promise<void> {
    await this.pending;
  }
}
