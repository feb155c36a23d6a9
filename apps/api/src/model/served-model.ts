import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DllmTokenizer } from '@dllm/engine/tokenizer';
import { z } from 'zod';

/** The part of dllm.json the API needs (the worker validates the whole bundle). */
const dllmJsonSchema = z.object({
  name: z.string().min(1).optional(),
  max_length: z.number().int().min(2),
  shift_logits: z.boolean().default(false),
});

/** What the API knows of the model the workers serve: its name and how long a row may be. */
export interface ServedModel {
  /** the name requests use (dllm.json `name`, else the bundle folder's name) */
  name: string;
  /** other names accepted for it (the folder name) */
  aliases: string[];
  /** prompt tokens + gen_length must fit in this */
  maxLength: number;
  /** shifted-logits models cannot continue an empty prompt */
  needsPrompt: boolean;
  tokenizer: DllmTokenizer;
}

/** Reads MODEL_DIR once at start-up; a missing or broken bundle stops the API with the reason. */
export function loadServedModel(modelDir: string): ServedModel {
  const dir = resolve(modelDir);
  const path = join(dir, 'dllm.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`MODEL_DIR: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = dllmJsonSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const folder = basename(dir);
  const name = parsed.data.name ?? folder;
  return {
    name,
    aliases: folder === name ? [] : [folder],
    maxLength: parsed.data.max_length,
    needsPrompt: parsed.data.shift_logits,
    tokenizer: DllmTokenizer.fromFile(join(dir, 'tokenizer.json')),
  };
}
