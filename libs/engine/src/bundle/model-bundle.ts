import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DllmTokenizer } from '../tokenizer';
import { BundleError, readDllmJson } from './dllm-json';

export { BundleError } from './dllm-json';

export interface ModelBundle {
  dir: string;
  modelPath: string;
  name: string;
  vocabSize: number;
  maxLength: number;
  maskId: number;
  eosId: number;
  padId: number;
  shiftLogits: boolean;
  /** the graph has top_ids/top_probs/entropy, so full logits never cross into JS */
  reducedOutputs: boolean;
  hasAttentionMask: boolean;
  tokenizer: DllmTokenizer;
}

export function loadModelBundle(dirInput: string): ModelBundle {
  const dir = resolve(dirInput);
  const file = (name: string): string => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new BundleError(`model bundle ${dir}: missing ${name}`);
    return path;
  };
  const { path: dllmPath, json: d } = readDllmJson(dir);
  for (const [field, id] of [['mask_token_id', d.mask_token_id], ['eos_token_id', d.eos_token_id], ['pad_token_id', d.pad_token_id]] as const) {
    if (id >= d.vocab_size) throw new BundleError(`${dllmPath}: ${field} ${id} is outside vocab_size ${d.vocab_size}`);
  }
  const tokenizer = DllmTokenizer.fromFile(file('tokenizer.json'));
  if (tokenizer.vocabSize > d.vocab_size) {
    throw new BundleError(`${dllmPath}: vocab_size ${d.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize}`);
  }
  return {
    dir,
    modelPath: file('model.onnx'),
    name: d.name,
    vocabSize: d.vocab_size,
    maxLength: d.max_length,
    maskId: d.mask_token_id,
    eosId: d.eos_token_id,
    padId: d.pad_token_id,
    shiftLogits: d.shift_logits,
    reducedOutputs: 'top_ids' in d.outputs && 'top_probs' in d.outputs && 'entropy' in d.outputs,
    hasAttentionMask: d.inputs ? 'attention_mask' in d.inputs : true,
    tokenizer,
  };
}
