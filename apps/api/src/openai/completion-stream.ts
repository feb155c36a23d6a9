import { settledText } from '@dllm/engine/request';
import type { CanvasFrame } from '@dllm/shared';
import type { HttpResponse } from '../common/http';
import type { OpenAiEndpoint } from '../batches/submission/submission';

export interface StreamOptions {
  endpoint: OpenAiEndpoint;
  /** cmpl-/chatcmpl- id, `created` (unix s) and model of every chunk */
  id: string;
  created: number;
  model: string;
  /** send the whole canvas at every step (each chunk replaces the last) */
  diffusing: boolean;
  /** the request's stop strings: streamed text never runs past where one could start */
  stop: readonly string[];
  includeUsage: boolean;
}

export interface FinalResult {
  text: string;
  finishReason: string | null;
  promptTokens: number;
  completionTokens: number;
}

/**
 * A completion as server-sent events in OpenAI's chunk format (`text_completion` chunks, or
 * `chat.completion.chunk` deltas), ending with `data: [DONE]`.
 *
 * A diffusion model does not write left to right, but a committed token never changes: the text
 * before the first masked position (`settled`) is final, and is streamed as it grows. Text that a
 * stop string could still cut is held back until the end. With `diffusing: true` every chunk
 * instead carries the whole canvas (masked positions as ▒), replacing the previous one, as
 * Mercury's API does; the last chunk carries the final text.
 */
export class CompletionStream {
  private sent = '';
  private started = false;
  private readonly holdBack: number;

  constructor(
    private readonly res: HttpResponse,
    private readonly opts: StreamOptions,
  ) {
    this.holdBack = Math.max(0, ...opts.stop.map((s) => s.length - 1));
  }

  /** Sends the headers (and, for chat, the assistant role). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.res.statusCode = 200;
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache');
    this.res.setHeader('X-Accel-Buffering', 'no');
    this.res.flushHeaders();
    if (this.opts.endpoint === '/v1/chat/completions') {
      this.chunk({ role: 'assistant', content: '' }, null);
    }
  }

  canvas(frame: Pick<CanvasFrame, 'step' | 'text' | 'masked'>): void {
    this.start();
    if (this.opts.diffusing) {
      this.chunk(this.content(frame.text), null, { step: frame.step, masked: frame.masked });
      return;
    }
    let safe = settledText(frame.text);
    // a stop string may have started in the last holdBack characters and end in masked text
    let end = Math.max(0, safe.length - this.holdBack);
    const cut = this.firstStop(safe);
    if (cut >= 0) end = Math.min(end, cut);
    safe = safe.slice(0, end);
    // never end on half a character: a split UTF-8 sequence decodes as U+FFFD, a split pair as a lone surrogate
    safe = safe.replace(/(\uFFFD|[\uD800-\uDBFF])+$/, '');
    if (safe.length > this.sent.length && safe.startsWith(this.sent)) {
      this.chunk(this.content(safe.slice(this.sent.length)), null);
      this.sent = safe;
    }
  }

  /** The rest of the text, the finish reason, usage if asked, and [DONE]. */
  finish(result: FinalResult): void {
    this.start();
    if (this.opts.diffusing) {
      this.chunk(this.content(result.text), null, { step: null, masked: 0 });
    } else if (result.text.startsWith(this.sent) && result.text.length > this.sent.length) {
      this.chunk(this.content(result.text.slice(this.sent.length)), null);
    }
    this.chunk(
      this.opts.endpoint === '/v1/chat/completions' ? {} : { text: '' },
      result.finishReason ?? 'stop',
    );
    if (this.opts.includeUsage) {
      this.write({
        ...this.envelope(),
        choices: [],
        usage: {
          prompt_tokens: result.promptTokens,
          completion_tokens: result.completionTokens,
          total_tokens: result.promptTokens + result.completionTokens,
        },
      });
    }
    this.done();
  }

  /** An error after the stream began: OpenAI's SDKs raise it from the `error` member. */
  fail(code: string, message: string): void {
    this.start();
    this.write({ error: { code, message, type: 'server_error' } });
    this.done();
  }

  private firstStop(text: string): number {
    let first = -1;
    for (const stop of this.opts.stop) {
      const at = text.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    return first;
  }

  private content(text: string): Record<string, string> {
    return this.opts.endpoint === '/v1/chat/completions' ? { content: text } : { text };
  }

  private envelope() {
    const chat = this.opts.endpoint === '/v1/chat/completions';
    return {
      id: this.opts.id,
      object: chat ? 'chat.completion.chunk' : 'text_completion',
      created: this.opts.created,
      model: this.opts.model,
    };
  }

  private chunk(
    part: Record<string, string>,
    finishReason: string | null,
    diffusion?: { step: number | null; masked: number },
  ): void {
    const choice =
      this.opts.endpoint === '/v1/chat/completions'
        ? { index: 0, delta: part, logprobs: null, finish_reason: finishReason }
        : { text: part.text ?? '', index: 0, logprobs: null, finish_reason: finishReason };
    this.write({
      ...this.envelope(),
      choices: [choice],
      ...(diffusion ? { diffusion } : {}),
    });
  }

  private write(data: unknown): void {
    if (!this.res.writableEnded) this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  private done(): void {
    if (this.res.writableEnded) return;
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }
}
