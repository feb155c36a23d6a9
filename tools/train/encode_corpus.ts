/**
 * Encodes the corpus with the engine's own tokenizer (the one inference uses), so the model trains on
 * exactly the ids it will see. Writes train.bin / val.bin (uint16, documents joined by end-of-text)
 * and meta.json.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { DllmTokenizer } from '../../libs/engine/src/tokenizer';

const opts = new Command()
  .requiredOption('--files <json>', 'file lists written by list_files.py')
  .requiredOption('--tokenizer <path>', 'tokenizer.json')
  .requiredOption('--out <dir>', 'output folder')
  .parse()
  .opts<{ files: string; tokenizer: string; out: string }>();

const listing = JSON.parse(readFileSync(opts.files, 'utf8')) as { train: string[]; val: string[] };
const tok = DllmTokenizer.fromFile(opts.tokenizer);
const eos = tok.specialId('<|endoftext|>');
if (tok.vocabSize > 65536) throw new Error('vocabulary too large for uint16 streams');
mkdirSync(opts.out, { recursive: true });

const meta: Record<string, number> = {
  vocab_size: tok.vocabSize,
  pad_id: tok.specialId('<|pad|>'),
  eos_id: eos,
  mask_id: tok.specialId('<|mask|>'),
};
for (const split of ['train', 'val'] as const) {
  // file by file to disk: the extended corpus is ~70M tokens
  const fd = openSync(join(opts.out, `${split}.bin`), 'w');
  let tokens = 0;
  let bytes = 0;
  for (const path of listing[split]) {
    const buf = readFileSync(path);
    bytes += buf.length;
    const ids = Uint16Array.from([...tok.encode(new TextDecoder().decode(buf)), eos]);
    writeSync(fd, ids);
    tokens += ids.length;
  }
  closeSync(fd);
  meta[`${split}_tokens`] = tokens;
  meta[`${split}_bytes`] = bytes;
}
writeFileSync(join(opts.out, 'meta.json'), JSON.stringify(meta, null, 1));
console.log(JSON.stringify(meta));
