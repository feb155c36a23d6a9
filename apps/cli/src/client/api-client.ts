import { CliError, EXIT } from '../exit-codes';
import { readSse, type SseEvent } from '@dllm/contract';

export interface ClientOptions {
  baseUrl: string;
  apiKey: string | undefined;
}

interface ApiErrorBody {
  error?: {
    code?: string;
    message?: string;
    details?: { index?: number; line?: number; field?: string; message?: string }[];
    problem_count?: number;
  };
}

/** A problem the API listed for a refused batch, located by item index or JSONL line. */
export interface Problem {
  index?: number;
  line?: number;
  field?: string;
  message?: string;
}

/** The API refused a request: its status, code and listed problems, for the command to explain. */
export class ApiRefusal extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[],
  ) {
    super(
      status === 401 || status === 403
        ? EXIT.auth
        : status >= 500
          ? EXIT.unavailable
          : EXIT.rejected,
      message,
    );
  }
}

/** Thin HTTP client of the dllm-batch API: bearer auth, JSON, and API errors turned into exit codes. */
export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async json<T>(
    method: string,
    path: string,
    init: {
      body?: string;
      contentType?: string;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<{ status: number; body: T }> {
    const res = await this.fetch(method, path, init);
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as T };
    } catch {
      throw new CliError(
        EXIT.unavailable,
        `${method} ${path}: the API answered ${res.status} with a body that is not JSON`,
      );
    }
  }

  /** The response of a streaming route (results, events), after its status was checked. */
  async stream(path: string, signal?: AbortSignal): Promise<Response> {
    return this.fetch('GET', path, { signal });
  }

  /** Server-sent events of a route, until the server ends the stream. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await this.stream(path, signal);
    if (!res.body) return;
    yield* readSse(res.body);
  }

  private async fetch(
    method: string,
    path: string,
    init: {
      body?: string;
      contentType?: string;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<Response> {
    const key = this.options.apiKey;
    if (!key) throw new CliError(EXIT.auth, 'no API key: set DLLM_API_KEY or pass --api-key');
    const url = new URL(path.replace(/^\//, ''), this.options.baseUrl.replace(/\/?$/, '/'));
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        body: init.body,
        signal: init.signal,
        headers: {
          authorization: `Bearer ${key}`,
          ...(init.contentType ? { 'content-type': init.contentType } : {}),
          ...init.headers,
        },
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        EXIT.unavailable,
        `cannot reach the API at ${this.options.baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let body: ApiErrorBody = {};
    try {
      body = JSON.parse(text) as ApiErrorBody;
    } catch {
      // not the API's error format (a proxy, or not this API at all): report the status alone
    }
    const problems = body.error?.details ?? [];
    const message =
      body.error?.message ?? `${method} ${url.pathname} answered ${res.status} ${res.statusText}`;
    throw new ApiRefusal(res.status, body.error?.code ?? `http_${res.status}`, message, problems);
  }
}
