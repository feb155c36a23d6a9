import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Principal } from './principal';

/**
 * The parts of Express's request this app reads (Express 5 ships no types and @types/express
 * is not a dependency: the app only needs these few members).
 */
export interface HttpRequest extends IncomingMessage {
  /** request id: the caller's X-Request-Id or a fresh UUID */
  id: string;
  log: Logger;
  principal?: Principal;
  path: string;
  originalUrl: string;
  query: Record<string, unknown>;
  body?: unknown;
  /** the matched route, set by Express once routing found one */
  route?: { path: string };
  /** aborted when the caller's API key is revoked while this (long-lived) request runs */
  keyRevoked?: AbortSignal;
  /** the body as received, kept by the JSON parser */
  rawBody?: Buffer;
}

export type HttpResponse = ServerResponse;
