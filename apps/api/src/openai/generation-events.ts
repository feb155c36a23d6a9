import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Config, GenerationEvent } from '@dllm/shared';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONFIG, LOGGER } from '../common/core.module';
import { loggableError } from '../common/logger';

type Listener = (event: GenerationEvent) => void;

/**
 * What workers publish about interactive requests (canvas states, "ended"), heard on one Redis
 * subscriber connection per API process and handed to the requests waiting on each channel.
 * Pub/sub loses messages while disconnected: listeners also reread Postgres on their own.
 */
@Injectable()
export class GenerationEvents implements OnApplicationShutdown {
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Resolves once subscribed (nothing published after that is missed); returns the unsubscribe. */
  async subscribe(channel: string, listener: Listener): Promise<() => void> {
    const subscriber = this.connection();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await subscriber.subscribe(channel);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        void subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }

  private connection(): Redis {
    if (!this.subscriber) {
      const subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: 2 });
      subscriber.on('error', (error) =>
        this.logger.warn({ err: loggableError(error) }, 'generation events: redis error'),
      );
      subscriber.on('message', (channel: string, message: string) => {
        const set = this.listeners.get(channel);
        if (!set) return;
        let event: GenerationEvent;
        try {
          event = JSON.parse(message) as GenerationEvent;
        } catch {
          return;
        }
        for (const listener of set) listener(event);
      });
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }
}
