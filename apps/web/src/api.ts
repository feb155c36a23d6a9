import { session } from './session';
import { readEvents, type SseEvent } from './sse';

/** An error answer of the API: `{error: {code, message, details?}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { index?: number; line?: number; field?: string; message?: string }[] = [],
  ) {
    super(message);
  }
}

/** Called when the API refuses the key (401): the app goes back to sign-in. */
let onUnauthorized: () => void = () => undefined;
export const whenUnauthorized = (handler: () => void): void => {
  onUnauthorized = handler;
};

async function send(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  key = session.key(),
): Promise<Response> {
  const res = await fetch(path, {
    method,
    signal,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (res.ok) return res;
  const answer = (await res.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string; details?: ApiError['details'] };
  };
  const error = new ApiError(
    res.status,
    answer.error?.code ?? `http_${res.status}`,
    answer.error?.message ?? `${res.status} ${res.statusText}`,
    answer.error?.details,
  );
  if (res.status === 401 && key === session.key()) onUnauthorized();
  throw error;
}

export const api = {
  get: async <T>(path: string, signal?: AbortSignal): Promise<T> =>
    (await send('GET', path, undefined, signal)).json() as Promise<T>,
  post: async <T>(path: string, body: unknown = {}): Promise<T> =>
    (await send('POST', path, body)).json() as Promise<T>,
  /** Checks a key before keeping it. */
  verify: async (key: string): Promise<void> => {
    await send('GET', '/v1/batches?limit=1', undefined, undefined, key);
  },
  /**
   * Follows an SSE route until the server ends it or `signal` aborts; reconnects (with Last-Event-ID)
   * when the connection drops before `isFinal` saw the last event.
   */
  async follow(
    path: string,
    onEvent: (e: SseEvent) => void,
    signal: AbortSignal,
    isFinal: (e: SseEvent) => boolean,
  ): Promise<void> {
    let lastId: string | undefined;
    let finished = false;
    for (let attempt = 0; !signal.aborted && !finished; attempt++) {
      try {
        const res = await fetch(path, {
          signal,
          headers: {
            authorization: `Bearer ${session.key() ?? ''}`,
            ...(lastId ? { 'last-event-id': lastId } : {}),
          },
        });
        if (!res.ok) {
          if (res.status === 401) onUnauthorized();
          throw new ApiError(res.status, `http_${res.status}`, `${path}: ${res.status}`);
        }
        await readEvents(res, (e) => {
          if (e.id) lastId = e.id;
          if (isFinal(e)) finished = true;
          onEvent(e);
        });
      } catch (error) {
        if (signal.aborted || (error instanceof ApiError && error.status < 500)) throw error;
      }
      if (!finished && !signal.aborted)
        await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 5000)));
    }
  },
};
