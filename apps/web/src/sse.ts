import { SseParser, type SseEvent } from '@dllm/contract';

export type { SseEvent };

/**
 * Server-sent events over fetch, so the request carries the Authorization header (EventSource
 * cannot, and the key must not go into a URL), parsed by the contract's one SSE parser. Reads
 * the body with a reader (Safari 16's streams are not async-iterable). Resolves when the server
 * ends the stream.
 */
export async function readEvents(res: Response, onEvent: (e: SseEvent) => void): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    const { done, value } = await reader.read();
    const events = done ? parser.end() : parser.push(decoder.decode(value, { stream: true }));
    for (const event of events) onEvent(event);
    if (done) return;
  }
}
