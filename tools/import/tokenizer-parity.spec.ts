import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { DllmTokenizer } from '../../libs/engine/src/tokenizer';

// The importer BUILDS tokenizer.json for Qwen-family checkpoints that ship only vocab.json +
// merges.txt (Dream, DiffuCoder, Dream-Coder). Proof that it tokenizes exactly like the slow files:
// the engine's tokenizer over the built file against an independent slow BPE (tests/slow_bpe.py:
// NFC, the Qwen2 split regex run by Python's `regex` module, byte-to-unicode, lowest-rank merges)
// over the real Qwen2.5-Coder vocab.json + merges.txt, on code, prose, Unicode, whitespace runs,
// digits and special tokens.
const here = __dirname;
const hfDir = join(here, 'fixtures/hf/Qwen__Qwen2.5-Coder-0.5B-Instruct');
const py = (args: string[]): string => {
  const run = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`python3 ${args.join(' ')} failed:\n${run.stderr}`);
  return run.stdout;
};

const handWritten = [
  'def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n',
  'for (let i = 0; i < n; i++) {\n\tconst x = arr[i] ?? null;\n}\r\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }\n',
  "SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY id DESC;",
  "It's what they'd've said; I'M sure you'LL agree. DON'T 'S 'T 'Re 'vE",
  'The quick brown fox jumps over the lazy dog.   Twice.  ',
  'Ünïcödé: naïve café, Straße, Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย',
  '中文分词测试：你好，世界！日本語のテキスト。한국어 텍스트입니다.',
  'emoji: 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ ✨🚀',
  'combining (not NFC): e\u0301 a\u0308 \u1100\u1161\u11a8 A\u030a',
  'spaces:     four, tabs:\t\t\ttwo, newlines:\n\n\n\r\n\r\n  trailing   \n',
  'nbsp:\u00a0\u00a0x ideographic:\u3000y nel:\u0085z bom:\ufeffw lsep:\u2028v em:\u2003u',
  '   leading spaces and a lone space at the end ',
  '\n\n\n',
  '1234567890 3.14159 1e-10 0x1F 1,000,000 ٣٤٥ ²³',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
  '<|endoftext|><|endoftext|>text<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>',
  'almost special: <|im_sta <|im_end| |im_end|> <im_end>',
  'quotes: \'single\' "double" `back` «guillemets» „low“',
  'punctuation runs: !!!??? ... --- === +++ *** ### @@@ $$$ %%% ^^^ &&& ||| \\\\ ///',
  '',
];

describe('tokenizer.json built from Qwen2 vocab.json + merges.txt', () => {
  let dir: string;
  let corpus: string[];
  let slow: { plain: number[][]; special: number[][] };
  let built: Record<string, unknown>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tok-parity-'));
    py([
      '-c',
      `import sys; sys.path.insert(0, ${JSON.stringify(here)}); from tokenizer_files import write_tokenizer; write_tokenizer(sys.argv[1], sys.argv[2])`,
      hfDir,
      dir,
    ]);
    built = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    // plus real code: every 25th Python stdlib file, as far as 400 kB
    const stdlib = '/usr/lib/python3.11';
    const files = existsSync(stdlib)
      ? readdirSync(stdlib)
          .filter((f) => f.endsWith('.py'))
          .sort()
          .filter((_f, i) => i % 25 === 0)
      : [];
    corpus = [...handWritten];
    let bytes = 0;
    for (const f of files) {
      if (bytes > 400_000 || !statSync(join(stdlib, f)).isFile()) continue;
      const text = readFileSync(join(stdlib, f), 'utf8');
      corpus.push(text);
      bytes += text.length;
    }
    writeFileSync(join(dir, 'corpus.json'), JSON.stringify(corpus));
    slow = JSON.parse(
      py([join(here, 'tests/slow_bpe.py'), hfDir, join(dir, 'corpus.json')]),
    ) as typeof slow;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the real vocabulary, merges and added tokens', () => {
    const model = built.model as { vocab: Record<string, number>; merges: string[] };
    expect(Object.keys(model.vocab)).toHaveLength(151643);
    expect(model.merges).toHaveLength(151387);
    const added = built.added_tokens as Array<{ id: number; content: string; special: boolean }>;
    expect(added.find((t) => t.content === '<|im_end|>')).toMatchObject({
      id: 151645,
      special: true,
    });
    expect(added.map((t) => t.id)).toEqual([...Array(22).keys()].map((i) => 151643 + i));
  });

  it('the engine tokenizer (user text: no special tokens) encodes exactly like the slow BPE', () => {
    const tok = DllmTokenizer.fromFile(join(dir, 'tokenizer.json'));
    expect(corpus.length).toBeGreaterThan(handWritten.length + 5);
    let tokens = 0;
    corpus.forEach((text, i) => {
      const ids = tok.encode(text);
      expect({ i, head: text.slice(0, 40), ids }).toEqual({
        i,
        head: text.slice(0, 40),
        ids: slow.plain[i],
      });
      tokens += ids.length;
    });
    expect(tokens).toBeGreaterThan(20_000);
  });

  it('with added tokens recognised (chat templates) it encodes like the slow tokenizer', () => {
    const hf = new HfTokenizer(built, {});
    corpus.forEach((text, i) => {
      const ids = hf.encode(text, { add_special_tokens: false }).ids;
      expect({ i, head: text.slice(0, 40), ids }).toEqual({
        i,
        head: text.slice(0, 40),
        ids: slow.special[i],
      });
    });
    expect(slow.special[15]).toContain(151644);
  });

  it('would see a difference: without the NFC normalizer, or with the split regex dropped', () => {
    const combining = handWritten.findIndex((t) => t.startsWith('combining'));
    const noNfc = new DllmTokenizer({ ...built, normalizer: null } as never);
    expect(noNfc.encode(handWritten[combining]!)).not.toEqual(slow.plain[combining]);
    const pre = built.pre_tokenizer as { pretokenizers: unknown[] };
    const noSplit = new DllmTokenizer({ ...built, pre_tokenizer: pre.pretokenizers[1] });
    expect(noSplit.encode(handWritten[0]!)).not.toEqual(slow.plain[0]);
  });

  it('decodes its own encoding back to the NFC text', () => {
    const tok = DllmTokenizer.fromFile(join(dir, 'tokenizer.json'));
    for (const text of handWritten)
      expect(tok.decode(tok.encode(text))).toBe(text.normalize('NFC'));
  });
});
