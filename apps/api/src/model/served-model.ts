import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readDllmJson } from '@dllm/engine/bundle/dllm-json';
import { DllmTokenizer } from '@dllm/engine/tokenizer';

/** Injection token of the ServedModel (MODEL_DIR, read once at start-up). */
export const SERVED_MODEL = Symbol('SERVED_MODEL');

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
  /** unix seconds: when the bundle's dllm.json was written (GET /v1/models `created`) */
  createdAt: number;
  tokenizer: DllmTokenizer;
}

/**
 * Reads MODEL_DIR once at start-up, by the engine's own dllm.json schema; a missing or broken
 * bundle stops the API with the reason.
 */
export function loadServedModel(modelDir: string): ServedModel {
  const dir = resolve(modelDir);
  let bundle: ReturnType<typeof readDllmJson>;
  try {
    bundle = readDllmJson(dir);
  } catch (err) {
    throw new Error(`MODEL_DIR: ${(err as Error).message}`, { cause: err });
  }
  const folder = basename(dir);
  const name = bundle.nameGiven ? bundle.json.name : folder;
  return {
    name,
    aliases: folder === name ? [] : [folder],
    maxLength: bundle.json.max_length,
    needsPrompt: bundle.json.shift_logits,
    createdAt: Math.floor(statSync(bundle.path).mtimeMs / 1000),
    tokenizer: DllmTokenizer.fromFile(join(dir, 'tokenizer.json')),
  };
}
