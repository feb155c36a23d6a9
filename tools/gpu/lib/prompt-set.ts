import { readFileSync } from 'node:fs';

/**
 * Inputs of the GPU check, fixed at pack time (tools/gpu/make-prompts.ts) from the model's held-out
 * validation files, so the bare GPU machine needs no corpus: `prompts` for generation (about
 * `promptTokens` tokens of text each) and `windows`, token ids of `windowTokens` for forwards.
 */
export interface PromptSet {
  model: string;
  promptTokens: number;
  prompts: string[];
  windowTokens: number;
  windows: number[][];
  sources: string[];
}

export function readPromptSet(path: string): PromptSet {
  const set = JSON.parse(readFileSync(path, 'utf8')) as PromptSet;
  if (
    !Array.isArray(set.prompts) ||
    !set.prompts.length ||
    !Array.isArray(set.windows) ||
    !set.windows.length
  ) {
    throw new Error(`${path}: not a prompt set (needs non-empty "prompts" and "windows")`);
  }
  return set;
}
