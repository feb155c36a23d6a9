import { Inject, Injectable } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { CONFIG } from '../common/core.module';
import type { ConcurrencyKind } from './limit-concurrency.decorator';

/**
 * Slots per API key in this process (concurrent uploads, open streams). Per process on purpose:
 * a crashed replica cannot leak slots anywhere, and the limit guards this process's memory and
 * connections, which is what it is for. N replicas allow N times the limit per key.
 */
export class KeySlots {
  private readonly held = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** A release function, or null when the key holds `limit` slots already (0 = no limit). */
  take(key: string): (() => void) | null {
    const n = this.held.get(key) ?? 0;
    if (this.limit > 0 && n >= this.limit) return null;
    this.held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }

  inUse(key: string): number {
    return this.held.get(key) ?? 0;
  }
}

/** The concurrency limits of this process, by kind (one instance: the interceptor's, and tests'). */
@Injectable()
export class ConcurrencySlots {
  readonly byKind: Record<ConcurrencyKind, KeySlots>;

  constructor(@Inject(CONFIG) config: Config) {
    this.byKind = {
      uploads: new KeySlots(config.MAX_CONCURRENT_UPLOADS),
      streams: new KeySlots(config.MAX_SSE_STREAMS),
      canvases: new KeySlots(config.MAX_CANVAS_STREAMS),
      completions: new KeySlots(config.MAX_CONCURRENT_COMPLETIONS),
    };
  }
}
