/** One server-sent event as the stream gave it (its data not yet parsed as JSON). */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * The one parser of server-sent events (CLI, dashboard, tests, benchmarks), per the HTML spec:
 * fields per line (CR, LF or CRLF), a blank line dispatches, `:` lines are comments. Fed text in
 * any chunking; returns the events each chunk completed.
 */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // a CR that ends the buffer may be the first half of a CRLF: wait for the next chunk
      if (newline === this.buffer.length - 1 && this.buffer.endsWith('\r')) break;
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) {
          out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
        }
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon >= 0 ? line.slice(0, colon) : line;
      const value = colon >= 0 ? line.slice(colon + 1).replace(/^ /, '') : '';
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id') this.id = value;
    }
    return out;
  }

  /** The stream ended: a CR it ended with was a whole line end after all. */
  end(): SseEvent[] {
    return this.buffer.endsWith('\r') ? this.push('\n') : [];
  }
}

/** Every event of a byte stream (a fetch body, a Node response), as it comes. */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for await (const chunk of body) yield* parser.push(decoder.decode(chunk, { stream: true }));
  yield* parser.end();
}

/** Every event of a whole SSE text (a finished response body). */
export function parseSse(text: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}
