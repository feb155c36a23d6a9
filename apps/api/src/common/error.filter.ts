import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ApiError } from './api-error';
import type { HttpRequest, HttpResponse } from './http';
import { loggableError } from './logger';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Errors of the body parser (raw-body / body-parser), which carry a status and a type. */
interface ParserError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
}

/**
 * Every error leaves as `{error: {code, message, details?}}`. Anything that is not a known
 * client error is a 500 with a generic message; its stack goes to the log, never to the client.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    const res = http.getResponse<HttpResponse>();
    const error = toApiError(exception, req);
    if (error.status >= 500) req.log?.error({ err: loggableError(exception) }, 'request failed');
    else req.log?.debug({ code: error.code, message: error.message }, 'request refused');
    if (res.headersSent) {
      // A stream (results, events) broke midway: all we can do is cut it.
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    if (error.status === 413) res.setHeader('Connection', 'close');
    if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.statusCode = error.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(error.toBody()));
  }
}

export function toApiError(exception: unknown, req?: HttpRequest): ApiError {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof HttpException) {
    // Nest wraps the body parser's errors; their cause says what really happened.
    const cause = parserError(exception.cause);
    if (cause) return cause;
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message = typeof response === 'string' ? response : exception.message;
    if (typeof response === 'object' && response !== null && 'message' in response) {
      const m: unknown = response.message;
      message = Array.isArray(m) ? m.join('; ') : String(m);
    }
    if (status === 404 && req && /^Cannot /.test(message)) {
      message = `no route ${req.method} ${req.path ?? req.url}`;
    }
    return new ApiError(
      status,
      CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request'),
      message,
    );
  }
  return (
    parserError(exception) ??
    new ApiError(
      500,
      'internal_error',
      'internal error; the request id in X-Request-Id finds it in the logs',
    )
  );
}

function parserError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error; // thrown by a parser hook (verify)
  const parser = error as ParserError | undefined;
  const status = parser?.status ?? parser?.statusCode;
  if (
    typeof parser?.type !== 'string' ||
    typeof status !== 'number' ||
    status < 400 ||
    status >= 500
  ) {
    return undefined;
  }
  if (parser.type === 'entity.parse.failed') {
    return ApiError.badRequest('invalid_json', `the body is not valid JSON: ${parser.message}`);
  }
  if (parser.type === 'entity.too.large') {
    return new ApiError(413, 'payload_too_large', 'request body is too large for this route');
  }
  return new ApiError(status, CODES[status] ?? 'bad_request', parser.message ?? 'bad request');
}
