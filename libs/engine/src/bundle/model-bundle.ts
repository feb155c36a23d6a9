import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DllmTokenizer } from '../tokenizer';
import { BundleError, readDllmJson } from './dllm-json';

export { BundleError } from './dllm-json';

/** What cached block decoding needs to know of the refresh and step graphs (see tools/train/cache_heads.py). */
export interface CacheGraphs {
  refreshPath: string;
  stepPath: string;
  layers: number;
  heads: number;
  headDim: number;
  dModel: number;
  /** convolution reach: positions read on each side of a span */
  halo: number;
  /** floats of keys (and as many of values) per cached position: layers x heads x head_dim */
  floatsPerPosition: number;
}

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
  /** present when the bundle ships refresh + step graphs (cached block decoding) */
  cacheGraphs?: CacheGraphs;
}

export function loadModelBundle(dirInput: string): ModelBundle {
  const dir = resolve(dirInput);
  const file = (name: string): string => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new BundleError(`model bundle ${dir}: missing ${name}`);
    return path;
  };
  const { path: dllmPath, json: d } = readDllmJson(dir);
  for (const [field, id] of [
    ['mask_token_id', d.mask_token_id],
    ['eos_token_id', d.eos_token_id],
    ['pad_token_id', d.pad_token_id],
  ] as const) {
    if (id >= d.vocab_size)
      throw new BundleError(`${dllmPath}: ${field} ${id} is outside vocab_size ${d.vocab_size}`);
  }
  const tokenizer = DllmTokenizer.fromFile(file('tokenizer.json'));
  if (d.weights) file(d.weights);
  let cacheGraphs: CacheGraphs | undefined;
  if (d.graphs.refresh && d.graphs.step) {
    if (!d.cache)
      throw new BundleError(`${dllmPath}: cache: required with graphs.refresh and graphs.step`);
    if (d.shift_logits)
      throw new BundleError(
        `${dllmPath}: graphs.refresh: cached decoding does not support shift_logits`,
      );
    cacheGraphs = {
      refreshPath: file(d.graphs.refresh),
      stepPath: file(d.graphs.step),
      layers: d.cache.layers,
      heads: d.cache.heads,
      headDim: d.cache.head_dim,
      dModel: d.cache.d_model,
      halo: d.cache.halo,
      floatsPerPosition: d.cache.layers * d.cache.heads * d.cache.head_dim,
    };
  }
  if (tokenizer.vocabSize > d.vocab_size) {
    throw new BundleError(
      `${dllmPath}: vocab_size ${d.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize}`,
    );
  }
  return {
    dir,
    modelPath: file(d.graphs.full),
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
    cacheGraphs,
  };
}
