import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DllmTokenizer } from '@dllm/engine';

export interface PromptSet {
  prompts: string[];
  /** where each prompt came from: `file@tokenOffset` */
  sources: string[];
}

/**
 * `count` prompts of `tokens` tokens each, cut from the model's held-out validation files
 * (validation_files.json): item i takes file i mod n at a golden-ratio offset, so the set is fixed
 * without a random generator. Re-encoding a decoded window can merge differently at its edges, so
 * the engine may see a token more or fewer.
 */
export function validationPrompts(
  modelDir: string,
  tokenizer: DllmTokenizer,
  count: number,
  tokens: number,
): PromptSet {
  const split = JSON.parse(readFileSync(join(modelDir, 'validation_files.json'), 'utf8')) as {
    root: string;
    files: string[];
  };
  const files = split.files
    .map((f) => ({ name: f, ids: tokenizer.encode(readFileSync(join(split.root, f), 'utf8')) }))
    .filter((f) => f.ids.length > tokens);
  if (!files.length)
    throw new Error(`${split.root}: no validation file longer than ${tokens} tokens`);
  const prompts: string[] = [];
  const sources: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = files[i % files.length]!;
    const frac = (i * 0.6180339887498949) % 1;
    const offset = Math.floor(frac * (file.ids.length - tokens));
    prompts.push(tokenizer.decode(file.ids.slice(offset, offset + tokens)));
    sources.push(`${file.name}@${offset}`);
  }
  return { prompts, sources };
}
