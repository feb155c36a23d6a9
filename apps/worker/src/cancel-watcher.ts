import type { Redis } from 'ioredis';
import { CANCEL_CHANNEL } from '@dllm/shared';

/**
 * Turns "batch X was cancelled" messages (Redis pub/sub, published by the API) into aborts of the
 * rows this worker runs for X, so cancellation reaches active rows within one engine step.
 * A worker that misses the message still stops: claimItems refuses work for a cancelling batch.
 */
export class CancelWatcher {
  private readonly controllers = new Map<string, Set<AbortController>>();

  constructor(private readonly subscriber: Redis) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, batchId: string) => {
      if (channel === CANCEL_CHANNEL) this.cancel(batchId);
    });
    await this.subscriber.subscribe(CANCEL_CHANNEL);
  }

  /** A controller aborted when the batch is cancelled; call the returned release when done. */
  track(batchId: string): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    const set = this.controllers.get(batchId) ?? new Set();
    set.add(controller);
    this.controllers.set(batchId, set);
    return {
      signal: controller.signal,
      release: () => {
        set.delete(controller);
        if (!set.size) this.controllers.delete(batchId);
      },
    };
  }

  cancel(batchId: string): number {
    const set = this.controllers.get(batchId);
    if (!set) return 0;
    for (const c of set) c.abort(new Error(`batch ${batchId} cancelled`));
    return set.size;
  }

  async stop(): Promise<void> {
    await this.subscriber.unsubscribe(CANCEL_CHANNEL).catch(() => undefined);
    this.subscriber.disconnect();
  }
}
