/**
 * Writes the GPU check's fixed inputs (lib/prompt-set.ts) from the model's validation files.
 *   tsx tools/gpu/make-prompts.ts --out FILE [--model DIR] [--count 256] [--prompt-tokens 64] [--window-tokens 128]
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { loadModelBundle } from '@dllm/engine';
import { validationPrompts } from '../lib/prompts';
import type { PromptSet } from './lib/prompt-set';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
};

const o = new Command('make-prompts')
  .requiredOption('--out <file>', 'where to write the prompt set (JSON)')
  .option('--model <dir>', 'model bundle', 'models/dllm-code-small')
  .option('--count <n>', 'prompts (and windows) to cut', int, 256)
  .option('--prompt-tokens <n>', 'tokens per generation prompt', int, 64)
  .option('--window-tokens <n>', 'tokens per forward window', int, 128)
  .parse()
  .opts<{
    out: string;
    model: string;
    count: number;
    promptTokens: number;
    windowTokens: number;
  }>();

const bundle = loadModelBundle(o.model);
const prompts = validationPrompts(o.model, bundle.tokenizer, o.count, o.promptTokens);
// windows: cut a little longer, re-encoded text can merge a token or two at the edges
const longer = validationPrompts(o.model, bundle.tokenizer, o.count, o.windowTokens + 8);
const windows = longer.prompts
  .map((text) => bundle.tokenizer.encode(text).slice(0, o.windowTokens))
  .filter((ids) => ids.length === o.windowTokens);
const set: PromptSet = {
  model: bundle.name,
  promptTokens: o.promptTokens,
  prompts: prompts.prompts,
  windowTokens: o.windowTokens,
  windows,
  sources: prompts.sources,
};
writeFileSync(o.out, JSON.stringify(set));
process.stderr.write(
  `[make-prompts] ${set.prompts.length} prompts, ${windows.length} windows -> ${o.out}\n`,
);
