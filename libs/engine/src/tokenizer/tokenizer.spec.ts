import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DllmTokenizer } from './tokenizer';
import { decodeWtf8, encodeWtf8 } from './wtf8';

const tok = DllmTokenizer.fromFile('models/dllm-code-small/tokenizer.json');
const roundTrip = (s: string): string => tok.decode(tok.encode(s));

describe('DllmTokenizer', () => {
  it('has the special tokens the model bundle relies on', () => {
    expect(tok.specialId('<|pad|>')).toBe(0);
    expect(tok.specialId('<|endoftext|>')).toBe(1);
    expect(tok.specialId('<|mask|>')).toBe(2);
    expect(tok.vocabSize).toBe(4096);
  });

  it('compresses Python code (BPE merges are applied)', () => {
    const src = 'def __init__(self, value):\n        self.value = value\n        return None\n';
    expect(tok.encode(src).length).toBeLessThan(src.length / 2.5);
  });

  it.each([
    ['empty', ''],
    ['code with CRLF and tabs', 'def f(x):\r\n\treturn x  # \t trailing\r\n'],
    ['spaces before punctuation (no clean-up of tokenization spaces)', "x .y , z ! w ' s n't"],
    ['emoji and combining marks', 'emoji 😀 👍🏽 👨‍👩‍👧 e\u0301 中文 ﷽'],
    ['NUL and control bytes', 'a\u0000b\u0001\u001f\u007f\u0085'],
    ['lone surrogates', 'high \ud800 low \udc00 pair \ud83d\ude00 reversed \ude00\ud83d end\ud800'],
    ['only a lone surrogate', '\udfff'],
    ['U+FFFD itself', '\ufffd'],
    ['whitespace runs', ' \n\n    \t\t  \u00a0\u2028\u3000 '],
  ])('decode(encode(s)) is the identity: %s', (_name, s) => {
    expect(roundTrip(s)).toBe(s);
  });

  // The bound only catches quadratic blow-up (minutes on 100 KB), not speed: a linear round trip
  // takes under 1 s, and the shared CI machine may be many times slower than that under load.
  it('is the identity on 100 KB lines, without quadratic blow-up', () => {
    const lines = [
      'a'.repeat(100_000),
      ' '.repeat(100_000),
      'x = 1; '.repeat(15_000),
      '😀'.repeat(25_000),
    ];
    for (const line of lines) {
      const t0 = Date.now();
      expect(roundTrip(line)).toBe(line);
      expect(Date.now() - t0).toBeLessThan(30_000);
    }
  });

  it('treats a literal special-token string in user text as plain text', () => {
    const ids = tok.encode('x = "<|mask|>" + "<|endoftext|><|pad|>"');
    expect(ids.some((id) => tok.isSpecial(id))).toBe(false);
    expect(tok.decode(ids)).toBe('x = "<|mask|>" + "<|endoftext|><|pad|>"');
  });

  it('reads special-token texts as their tokens only when asked (a chat template wrote them)', () => {
    const text = 'a<|endoftext|>b<|pad|><|pad|>';
    expect(tok.encode(text, { specials: true })).toEqual([
      ...tok.encode('a'),
      1,
      ...tok.encode('b'),
      0,
      0,
    ]);
    expect(tok.decode(tok.encode(text, { specials: true }))).toBe(text);
    expect(tok.encode('def f(): pass', { specials: true })).toEqual(tok.encode('def f(): pass'));
    expect(tok.findSpecialText('x <|pad|> <|mask|>')).toBe('<|pad|>');
    expect(tok.findSpecialText('x <|pad| >')).toBeNull();
  });

  it('renders special ids as their text, or skips them', () => {
    const ids = [
      ...tok.encode('a'),
      tok.specialId('<|mask|>'),
      ...tok.encode('b'),
      tok.specialId('<|endoftext|>'),
    ];
    expect(tok.decode(ids)).toBe('a<|mask|>b<|endoftext|>');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('ab');
  });

  it('rejects ids outside the vocabulary with a clear error', () => {
    expect(() => tok.decode([5000])).toThrow(
      /token id 5000 is outside the vocabulary \(size 4096\)/,
    );
  });

  it('names the file when tokenizer.json is unreadable', () => {
    expect(() => DllmTokenizer.fromFile('/nonexistent/tokenizer.json')).toThrow(
      /\/nonexistent\/tokenizer.json: cannot read tokenizer/,
    );
    expect(() => new DllmTokenizer({ model: { type: 'WordPiece', vocab: {} } }, 'x.json')).toThrow(
      /x.json: model.type must be "BPE"/,
    );
  });

  const stdlib = '/usr/lib/python3.11';
  (existsSync(stdlib) ? it : it.skip)(
    'is the identity on the training corpus (every 4th stdlib file)',
    () => {
      const files = readdirSync(stdlib, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.py') && !f.includes('dist-packages'))
        .sort()
        .filter((_f, i) => i % 4 === 0);
      expect(files.length).toBeGreaterThan(100);
      let bytes = 0;
      for (const f of files) {
        const path = join(stdlib, f);
        if (!statSync(path).isFile()) continue;
        const text = readFileSync(path, 'utf8');
        bytes += text.length;
        expect(roundTrip(text)).toBe(text);
      }
      expect(bytes).toBeGreaterThan(1_000_000);
    },
  );
});

describe('WTF-8', () => {
  it('equals UTF-8 for well-formed text and round-trips lone surrogates', () => {
    const s = 'añ€😀';
    expect(Buffer.from(encodeWtf8(s)).equals(Buffer.from(s, 'utf8'))).toBe(true);
    expect(decodeWtf8(encodeWtf8('\ud800x\udfff'))).toBe('\ud800x\udfff');
  });

  it('turns invalid bytes into U+FFFD', () => {
    expect(decodeWtf8([0x61, 0xff, 0x62, 0xc3])).toBe('a\ufffdb\ufffd');
  });
});
