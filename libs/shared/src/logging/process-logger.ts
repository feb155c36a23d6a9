import pino, { type DestinationStream, type Logger } from 'pino';

/** The processes that write logs; each line names its own. */
export type LoggingService = 'api' | 'worker';

/**
 * The one logger configuration of every process: JSON lines, `service` on each, and `time` as an
 * ISO-8601 UTC string (pino's default is epoch milliseconds), so API and worker logs sort and merge
 * as one stream.
 */
export function createProcessLogger(
  service: LoggingService,
  level: string,
  destination?: DestinationStream,
): Logger {
  const options = { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
