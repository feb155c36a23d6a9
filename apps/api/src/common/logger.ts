import type { LoggerService } from '@nestjs/common';
import { createProcessLogger } from '@dllm/shared';
import type { Logger } from 'pino';

/** JSON logs to stdout (the worker's format); one logger per process, children carry the request id. */
export function createLogger(level: string): Logger {
  return createProcessLogger('api', level);
}

/** Routes Nest's own messages (start-up, route map, uncaught errors) into the same JSON log. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }

  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }

  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }

  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }

  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}

/**
 * An error as logged: never its query parameters (a failed batch insert would log 100,000
 * prompts), only what identifies it.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const driver = (
    error as { driverError?: { code?: string; detail?: string; constraint?: string } }
  ).driverError;
  return {
    type: error.name,
    message: error.message,
    stack: error.stack,
    ...(driver
      ? {
          pg_code: driver.code,
          pg_detail: driver.detail?.slice(0, 500),
          constraint: driver.constraint,
        }
      : {}),
  };
}
