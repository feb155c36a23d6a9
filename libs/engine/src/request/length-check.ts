import type { DllmTokenizer } from '../tokenizer';
import type { GenerationTask } from './task';

/** What of a model's shape decides whether a row fits. */
export interface RowLimits {
  /** prompt tokens + gen_length must fit in this (dllm.json max_length) */
  maxLength: number;
  /** shifted-logits models (Dream) predict from the previous token: an empty prompt cannot start */
  shiftLogits: boolean;
}

/**
 * The one length rule of a row, given its token counts: null when it fits, else what is wrong
 * (the engine refuses the row with it; the API refuses the item at submit with the same words).
 */
export function rowLengthProblem(
  task: GenerationTask,
  tokens: { before: number; after: number } | { atLeast: number },
  genLength: number,
  limits: RowLimits,
): string | null {
  const what = 'prompt' in task ? 'prompt' : 'prefix + suffix';
  const count = 'atLeast' in tokens ? tokens.atLeast : tokens.before + tokens.after;
  if (count + genLength > limits.maxLength) {
    const shown = 'atLeast' in tokens ? `at least ${count}` : String(count);
    return (
      `${what} is ${shown} tokens; with gen_length ${genLength} that is ` +
      `${count + genLength} > the model's max length ${limits.maxLength}`
    );
  }
  if ('before' in tokens && tokens.before === 0 && limits.shiftLogits) {
    return 'prompt must not be empty for a shifted-logits model';
  }
  return null;
}

/**
 * Checks rows before they reach the engine, as the engine will count them (prefix and suffix
 * are encoded separately around the canvas).
 *
 * Tokenizing is the slow part of accepting a batch (~80 us per short prompt, i.e. seconds for
 * 100,000 items), so it is skipped whenever the answer is certain without it: byte-level BPE
 * gives every token at least one UTF-8 byte (lone surrogates: 3 bytes, 3 tokens), hence
 * tokens <= bytes; and no token is longer than the longest vocabulary entry, hence
 * tokens >= bytes / longest.
 */
export class PromptBudget {
  private readonly longestToken: number;
  readonly limits: RowLimits;

  constructor(
    private readonly tokenizer: DllmTokenizer,
    limits: RowLimits | number,
  ) {
    this.limits = typeof limits === 'number' ? { maxLength: limits, shiftLogits: false } : limits;
    let longest = 1;
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      longest = Math.max(longest, tokenizer.tokenBytes(id).length);
    }
    this.longestToken = longest;
  }

  get maxLength(): number {
    return this.limits.maxLength;
  }

  /** null when the row fits; otherwise what is wrong, for the user. */
  check(task: GenerationTask, genLength: number): string | null {
    const room = this.limits.maxLength - genLength;
    const texts = 'prompt' in task ? [task.prompt] : [task.prefix, task.suffix];
    let bytes = 0;
    for (const text of texts) bytes += Buffer.byteLength(text, 'utf8');
    // An empty prompt needs no counting, but may not fit a shifted-logits model.
    if (bytes <= room && (bytes > 0 || !this.limits.shiftLogits)) return null;
    const atLeast = texts.reduce(
      (sum, t) => sum + Math.ceil(Buffer.byteLength(t, 'utf8') / this.longestToken),
      0,
    );
    // (a special token's text may be longer than any vocabulary entry: no lower bound for chat)
    if (atLeast > room && !('chat' in task && task.chat))
      return rowLengthProblem(task, { atLeast }, genLength, this.limits);
    const before = (
      'prompt' in task
        ? this.tokenizer.encode(task.prompt, { specials: task.chat === true })
        : this.tokenizer.encode(task.prefix)
    ).length;
    const after = 'prompt' in task ? 0 : this.tokenizer.encode(task.suffix).length;
    return rowLengthProblem(task, { before, after }, genLength, this.limits);
  }
}
