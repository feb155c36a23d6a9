import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { bytesToUnicode } from './byte-level';
import { decodeWtf8, encodeWtf8 } from './wtf8';

export interface SpecialTokenIds {
  pad: number;
  eos: number;
  mask: number;
}

interface TokenizerJson {
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  model?: { type?: string; vocab?: Record<string, number> };
  pre_tokenizer?: unknown;
  decoder?: { type?: string } | null;
}

const LONE_SURROGATE = /\p{Surrogate}/gu;

/**
 * Byte-level BPE tokenizer over `@huggingface/tokenizers`, with two guarantees the raw library lacks:
 * - decode(encode(s)) === s for every JavaScript string, lone surrogates included (WTF-8 bytes), and
 *   no "clean-up of tokenization spaces" (it rewrites code such as `x .y`);
 * - user text never produces a special token: a literal "<|mask|>" in a prompt is encoded as the
 *   plain characters it is, so a prompt cannot inject masks or end-of-text.
 */
export class DllmTokenizer {
  readonly vocabSize: number;
  private readonly hf: HfTokenizer;
  private readonly idBytes: Array<Uint8Array | null>;
  private readonly specialText = new Map<number, string>();
  private readonly byteId: Int32Array;
  private readonly specialByText = new Map<string, number>();
  private specialRegex: RegExp | undefined;

  constructor(json: TokenizerJson, source = 'tokenizer.json') {
    const vocab = json.model?.vocab;
    if (json.model?.type !== 'BPE' || !vocab) {
      throw new Error(
        `${source}: model.type must be "BPE" with a model.vocab (byte-level BPE expected)`,
      );
    }
    if (json.decoder?.type !== 'ByteLevel') {
      throw new Error(
        `${source}: decoder.type must be "ByteLevel" (got ${JSON.stringify(json.decoder?.type)})`,
      );
    }
    // Added tokens are left out of the encoder so text can never be matched to a special token.
    this.hf = new HfTokenizer(
      { ...json, added_tokens: [] },
      { clean_up_tokenization_spaces: false },
    );
    for (const t of json.added_tokens ?? []) this.specialText.set(t.id, t.content);

    const u2b = new Map<string, number>();
    for (const [b, ch] of bytesToUnicode()) u2b.set(ch, b);
    // a loop, not Math.max(...ids): a 150k-entry spread overflows the call stack (Qwen vocabularies)
    let size = 0;
    for (const id of Object.values(vocab)) if (id >= size) size = id + 1;
    this.vocabSize = size;
    this.idBytes = new Array<Uint8Array | null>(size).fill(null);
    this.byteId = new Int32Array(256).fill(-1);
    for (const [piece, id] of Object.entries(vocab)) {
      if (this.specialText.has(id)) continue;
      const bytes: number[] = [];
      for (const ch of piece) {
        const b = u2b.get(ch);
        if (b === undefined)
          throw new Error(
            `${source}: vocab entry ${JSON.stringify(piece)} (id ${id}) is not byte-level`,
          );
        bytes.push(b);
      }
      this.idBytes[id] = Uint8Array.from(bytes);
      if (bytes.length === 1) this.byteId[bytes[0]!] = id;
    }
    const missing = [...this.byteId].findIndex((id) => id < 0);
    if (missing >= 0)
      throw new Error(`${source}: vocab lacks the single-byte token for byte ${missing}`);
  }

  static fromFile(path: string): DllmTokenizer {
    let json: TokenizerJson;
    try {
      json = JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson;
    } catch (err) {
      throw new Error(`${path}: cannot read tokenizer: ${(err as Error).message}`, { cause: err });
    }
    return new DllmTokenizer(json, path);
  }

  /** Id of a special token by its text, e.g. "<|mask|>"; throws when the vocabulary lacks it. */
  specialId(content: string): number {
    for (const [id, text] of this.specialText) if (text === content) return id;
    throw new Error(`tokenizer has no special token ${JSON.stringify(content)}`);
  }

  isSpecial(id: number): boolean {
    return this.specialText.has(id);
  }

  /**
   * Token ids of `text`. By default special-token texts are plain characters (user text cannot
   * inject them); with `specials`, every special token's text is that token: only for text a
   * model's chat template wrote, whose messages were checked free of them (findSpecialText).
   */
  encode(text: string, opts: { specials?: boolean } = {}): number[] {
    if (!opts.specials || this.specialText.size === 0) return this.encodePlain(text);
    const ids: number[] = [];
    let start = 0;
    for (const m of text.matchAll(this.specialPattern())) {
      for (const id of this.encodePlain(text.slice(start, m.index))) ids.push(id);
      ids.push(this.specialByText.get(m[0])!);
      start = m.index + m[0].length;
    }
    for (const id of this.encodePlain(text.slice(start))) ids.push(id);
    return ids;
  }

  /** The first special token's text found in `text` (e.g. "<|im_end|>"), or null. */
  findSpecialText(text: string): string | null {
    if (this.specialText.size === 0) return null;
    const m = this.specialPattern().exec(text);
    return m ? m[0] : null;
  }

  private specialPattern(): RegExp {
    if (!this.specialRegex) {
      for (const [id, t] of this.specialText) if (t) this.specialByText.set(t, id);
      // longest first, so "<|im_end|>" is never read as a shorter special it starts with
      const texts = [...this.specialByText.keys()].sort((a, b) => b.length - a.length);
      this.specialRegex = new RegExp(
        texts.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
        'g',
      );
    }
    this.specialRegex.lastIndex = 0;
    return this.specialRegex;
  }

  private encodePlain(text: string): number[] {
    const ids: number[] = [];
    let start = 0;
    for (const m of text.matchAll(LONE_SURROGATE)) {
      this.encodeWellFormed(text.slice(start, m.index), ids);
      for (const b of encodeWtf8(m[0])) ids.push(this.byteId[b]!);
      start = m.index + m[0].length;
    }
    this.encodeWellFormed(text.slice(start), ids);
    return ids;
  }

  /** Special tokens are rendered as their text unless `skipSpecial`; ids out of range throw. */
  decode(ids: ArrayLike<number>, opts: { skipSpecial?: boolean } = {}): string {
    const parts: string[] = [];
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length) parts.push(decodeWtf8(bytes));
      bytes = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const special = this.specialText.get(id);
      if (special !== undefined) {
        flush();
        if (!opts.skipSpecial) parts.push(special);
        continue;
      }
      const piece = this.idBytes[id];
      if (!piece)
        throw new Error(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      for (const b of piece) bytes.push(b);
    }
    flush();
    return parts.join('');
  }

  /** The raw bytes a token stands for (empty for special tokens). */
  tokenBytes(id: number): Uint8Array {
    return this.idBytes[id] ?? new Uint8Array(0);
  }

  private encodeWellFormed(text: string, into: number[]): void {
    if (!text) return;
    for (const id of this.hf.encode(text, { add_special_tokens: false }).ids) into.push(id);
  }
}
