import type { DllmTokenizer } from '@dllm/engine/tokenizer';

/** Prompt text of one item: a continuation prompt, or the prefix and suffix around an infill. */
export type TaskText = { prompt: string } | { prefix: string; suffix: string };

/**
 * Checks that prompt tokens + gen_length fit the model, as the worker will count them
 * (prefix and suffix are encoded separately around the canvas).
 *
 * Tokenizing is the slow part of accepting a batch (~80 us per short prompt, i.e. seconds for
 * 100,000 items), so it is skipped whenever the answer is certain without it: byte-level BPE
 * gives every token at least one UTF-8 byte (lone surrogates: 3 bytes, 3 tokens), hence
 * tokens <= bytes; and no token is longer than the longest vocabulary entry, hence
 * tokens >= bytes / longest.
 */
export class PromptBudget {
  private readonly longestToken: number;

  constructor(
    private readonly tokenizer: DllmTokenizer,
    readonly maxLength: number,
  ) {
    let longest = 1;
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      longest = Math.max(longest, tokenizer.tokenBytes(id).length);
    }
    this.longestToken = longest;
  }

  /** null when the item fits; otherwise what is wrong, for the user. */
  check(task: TaskText, genLength: number): string | null {
    const room = this.maxLength - genLength;
    const texts = 'prompt' in task ? [task.prompt] : [task.prefix, task.suffix];
    const what = 'prompt' in task ? 'prompt' : 'prefix + suffix';
    let bytes = 0;
    for (const text of texts) bytes += Buffer.byteLength(text, 'utf8');
    if (bytes <= room) return null;
    const atLeast = texts.reduce(
      (sum, t) => sum + Math.ceil(Buffer.byteLength(t, 'utf8') / this.longestToken),
      0,
    );
    if (atLeast > room) return this.tooLong(what, `at least ${atLeast}`, atLeast, genLength);
    let tokens = 0;
    for (const text of texts) tokens += this.tokenizer.encode(text).length;
    return tokens <= room ? null : this.tooLong(what, String(tokens), tokens, genLength);
  }

  private tooLong(what: string, shown: string, tokens: number, genLength: number): string {
    return (
      `${what} is ${shown} tokens; with gen_length ${genLength} that is ` +
      `${tokens + genLength} > the model's max length ${this.maxLength}`
    );
  }
}
