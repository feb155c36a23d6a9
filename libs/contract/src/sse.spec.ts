import { parseSse, readSse, SseParser, type SseEvent } from './sse';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function all(stream: AsyncIterable<Uint8Array>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(stream)) out.push(e);
  return out;
}

describe('readSse', () => {
  it('reads events split anywhere across chunks, with ids, comments and multi-line data', async () => {
    const events = await all(
      chunks(
        'id: 1\nevent: prog',
        'ress\ndata: {"a":1}\n\n: keep-alive\n\n',
        'event: done\r\ndata: x\r\ndata: y\r\n\r\n',
      ),
    );
    expect(events).toEqual([
      { event: 'progress', data: '{"a":1}', id: '1' },
      { event: 'done', data: 'x\ny', id: '1' },
    ]);
  });

  it('names an event without an event field "message" and drops an unterminated one', async () => {
    expect(await all(chunks('data: hi\n\ndata: cut off'))).toEqual([
      { event: 'message', data: 'hi', id: undefined },
    ]);
  });

  it('waits for the LF of a CRLF split across chunks, and takes a final CR as a line end', async () => {
    const parser = new SseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\n\r')).toEqual([]);
    expect(parser.push('\ndata: b\r\r')).toEqual([{ event: 'message', data: 'a', id: undefined }]);
    expect(parser.end()).toEqual([{ event: 'message', data: 'b', id: undefined }]);
    expect(await all(chunks('data: c\r', '\r'))).toEqual([
      { event: 'message', data: 'c', id: undefined },
    ]);
  });

  it('parses a whole response body', () => {
    expect(parseSse('event: done\ndata: {}\n\n')).toEqual([
      { event: 'done', data: '{}', id: undefined },
    ]);
  });
});
