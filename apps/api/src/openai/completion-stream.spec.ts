import type { HttpResponse } from '../common/http';
import { CompletionStream, type StreamOptions } from './completion-stream';

interface Chunk {
  object: string;
  choices: { text?: string; delta?: Record<string, string>; finish_reason: string | null }[];
  usage?: object;
  diffusion?: object;
}

/** A response that keeps the SSE data lines written to it. */
function sink() {
  const data: string[] = [];
  const res = {
    statusCode: 0,
    writableEnded: false,
    setHeader: () => undefined,
    flushHeaders: () => undefined,
    write: (text: string) => {
      for (const line of text.split('\n')) if (line.startsWith('data: ')) data.push(line.slice(6));
      return true;
    },
    end: () => {
      res.writableEnded = true;
    },
  };
  const chunks = () => data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Chunk);
  return { res: res as unknown as HttpResponse, data, chunks };
}

const options = (over: Partial<StreamOptions> = {}): StreamOptions => ({
  endpoint: '/v1/completions',
  id: 'cmpl-1',
  created: 1,
  model: 'm',
  diffusing: false,
  stop: [],
  includeUsage: false,
  ...over,
});
const canvas = (text: string, step = 1) => ({
  step,
  text,
  masked: [...text].filter((c) => c === '▒').length,
});
const final = (text: string) => ({
  text,
  finishReason: 'length',
  promptTokens: 2,
  completionTokens: 5,
});

describe('CompletionStream', () => {
  it('streams the settled text as it grows, then the rest, the finish reason and [DONE]', () => {
    const { res, data, chunks } = sink();
    const stream = new CompletionStream(res, options());
    stream.canvas(canvas('ab▒▒▒'));
    stream.canvas(canvas('ab▒d▒'));
    stream.canvas(canvas('abcd▒'));
    stream.finish(final('abcde'));
    const texts = chunks().map((c) => c.choices[0]!.text);
    expect(texts).toEqual(['ab', 'cd', 'e', '']);
    expect(chunks().map((c) => c.choices[0]!.finish_reason)).toEqual([null, null, null, 'length']);
    expect(data[data.length - 1]).toBe('[DONE]');
  });

  it('never streams text a stop string could still cut', () => {
    const { res, chunks } = sink();
    const stream = new CompletionStream(res, options({ stop: ['\n\n'] }));
    stream.canvas(canvas('x = 1\n▒▒▒')); // "\n" may become "\n\n": held back
    stream.canvas(canvas('x = 1\n\ny▒')); // the stop is there: nothing after it
    stream.finish(final('x = 1'));
    expect(
      chunks()
        .map((c) => c.choices[0]!.text)
        .join(''),
    ).toBe('x = 1');
    expect(chunks()[0]!.choices[0]!.text).toBe('x = 1');
  });

  it('holds back half a character', () => {
    const { res, chunks } = sink();
    const stream = new CompletionStream(res, options());
    stream.canvas(canvas('a\uFFFD▒'));
    stream.finish(final('aé'));
    expect(chunks().map((c) => c.choices[0]!.text)).toEqual(['a', 'é', '']);
  });

  it('for chat: the role first, content deltas, an empty delta with the reason, usage when asked', () => {
    const { res, chunks } = sink();
    const stream = new CompletionStream(
      res,
      options({ endpoint: '/v1/chat/completions', id: 'chatcmpl-1', includeUsage: true }),
    );
    stream.canvas(canvas('hi▒'));
    stream.finish(final('hi!'));
    const all = chunks();
    expect(all.map((c) => c.object)).toEqual(Array(5).fill('chat.completion.chunk'));
    expect(all.map((c) => c.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'hi' },
      { content: '!' },
      {},
      undefined,
    ]);
    expect(all[4]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 },
    });
  });

  it('diffusing: every chunk is the whole canvas; the last one the final text', () => {
    const { res, chunks } = sink();
    const stream = new CompletionStream(res, options({ diffusing: true }));
    stream.canvas(canvas('▒▒▒', 1));
    stream.canvas(canvas('a▒c', 2));
    stream.finish(final('abc'));
    const all = chunks();
    expect(all.map((c) => c.choices[0]!.text)).toEqual(['▒▒▒', 'a▒c', 'abc', '']);
    expect(all[1]).toMatchObject({ diffusion: { step: 2, masked: 1 } });
  });

  it('reports a failure after the stream began as an error event', () => {
    const { res, data } = sink();
    const stream = new CompletionStream(res, options());
    stream.canvas(canvas('a▒'));
    stream.fail('generation_failed', 'boom');
    expect(JSON.parse(data[data.length - 2]!)).toEqual({
      error: { code: 'generation_failed', message: 'boom', type: 'server_error' },
    });
    expect(data[data.length - 1]).toBe('[DONE]');
  });
});
