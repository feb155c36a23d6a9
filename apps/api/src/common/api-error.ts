/** Where in a batch a problem is: an item index (JSON body) or a line number (JSONL body). */
export interface ProblemDetail {
  index?: number;
  line?: number;
  field: string;
  message: string;
}

/**
 * The one error type services throw; the exception filter turns it into
 * `{error: {code, message, details?}}` with this HTTP status.
 */
export class ApiError extends Error {
  /** response headers that go with it (e.g. Retry-After of a 429) */
  readonly headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ProblemDetail[],
    /** extra members of the error object, e.g. how many problems were left out of `details` */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static badRequest(code: string, message: string, details?: ProblemDetail[]): ApiError {
    return new ApiError(400, code, message, details);
  }

  static notFound(message: string): ApiError {
    return new ApiError(404, 'not_found', message);
  }

  static unauthorized(message: string): ApiError {
    return new ApiError(401, 'unauthorized', message);
  }

  static conflict(code: string, message: string): ApiError {
    return new ApiError(409, code, message);
  }

  toBody(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: this.details } : {}),
        ...this.extra,
      },
    };
  }
}
