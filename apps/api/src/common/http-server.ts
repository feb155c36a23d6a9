import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '@dllm/shared';
import type { Logger } from 'pino';

/** Parser errors Node reports before any route runs, and what the client is told. */
const CLIENT_ERRORS: Record<string, [status: number, reason: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'request headers are larger than the server accepts (16 KiB)',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'Request Timeout',
    'the request was not received in time (API_REQUEST_TIMEOUT_MS)',
  ],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large', 'chunk extensions are too large'],
};

/** How often Node checks for late requests: a tenth of the header timeout, 100 ms to 1 s. */
export const connectionsCheckingInterval = (headersTimeoutMs: number): number =>
  Math.min(1000, Math.max(100, Math.floor(headersTimeoutMs / 10)));

/**
 * The HTTP server's own limits: time to receive headers and the whole request (so a slow or
 * stalled client cannot hold a connection forever), and malformed requests (huge headers,
 * broken framing) answered with the API's JSON error format instead of a bare status line.
 */
export function configureHttpServer(server: Server, config: Config, logger: Logger): void {
  server.requestTimeout = config.API_REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(config.API_HEADERS_TIMEOUT_MS, config.API_REQUEST_TIMEOUT_MS);
  // Node checks those timeouts only every connectionsCheckingInterval (30 s by default), so a
  // 10 s header timeout could fire at 40 s; read when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    connectionsCheckingInterval(server.headersTimeout);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
      400,
      'Bad Request',
      `the request is not valid HTTP (${error.code ?? error.message})`,
    ];
    const body = JSON.stringify({
      error: { code: reason.toLowerCase().replace(/ /g, '_'), message },
    });
    logger.debug({ code: error.code, status }, 'malformed request refused');
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
