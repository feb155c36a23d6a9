import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Config } from '@dllm/shared';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { CONFIG, LOGGER } from './core.module';

/**
 * A bounded shutdown: idle keep-alive connections close at once, requests in flight (a slow 50 MB
 * upload) get API_SHUTDOWN_GRACE_MS, then their connections are cut. Without it the server
 * waits for its slowest client and the orchestrator's SIGKILL ends the process instead.
 * Cutting loses nothing: a batch is committed in one transaction after its whole body arrived.
 */
@Injectable()
export class ShutdownGrace implements BeforeApplicationShutdown {
  constructor(
    private readonly adapter: HttpAdapterHost,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  beforeApplicationShutdown(): void {
    const server = this.adapter.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    server.closeIdleConnections();
    setTimeout(() => {
      this.logger.warn(
        { grace_ms: this.config.API_SHUTDOWN_GRACE_MS },
        'shutdown grace over: closing connections still open',
      );
      server.closeAllConnections();
    }, this.config.API_SHUTDOWN_GRACE_MS).unref();
  }
}
