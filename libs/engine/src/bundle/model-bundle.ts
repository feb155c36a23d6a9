import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DllmTokenizer } from '../tokenizer';
import {
  BundleError,
  readDllmJson,
  type DllmJsonV3,
  type ModelDefaults,
  type ModelKind,
  type Topology,
} from './dllm-json';

export { BundleError } from './dllm-json';

/**
 * What cached block decoding needs to know of the refresh and step graphs (see
 * tools/train/cache_heads.py). A format-3 bundle's one decoder graph plays both parts: both paths
 * name it, and its halo is 0.
 */
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

/** How attention may look across positions (absolute positions; see tools/import/spec.py). */
export interface AttentionTopology {
  type: Topology;
  /** block-causal: bidirectional inside `position // blockSize`, causal across; else null */
  blockSize: number | null;
}

/**
 * Which graphs the bundle has: `separate` (format 2: a full graph, optionally refresh + step with
 * a convolution halo) or `decoder` (format 3: one graph with an optional past, halo 0).
 */
export type GraphLayout = 'separate' | 'decoder';

export interface ModelBundle {
  dir: string;
  /** dllm.json format_version (1-2: tools/train's exports; 3: imported checkpoints) */
  format: number;
  /** the full graph (separate layout) or the one decoder graph */
  modelPath: string;
  graphLayout: GraphLayout;
  name: string;
  kind: ModelKind;
  attention: AttentionTopology;
  vocabSize: number;
  maxLength: number;
  maskId: number;
  /** the canonical end-of-text id (what the canvas is filled with after EOS) */
  eosId: number;
  /** every id that ends generation (eos + end-of-turn...), eosId included */
  eosIds: readonly number[];
  padId: number;
  bosId: number | null;
  shiftLogits: boolean;
  /** generation defaults of this model, under a request's own values (params.ts withModelDefaults) */
  defaults: ModelDefaults;
  /** the model's chat template file (rendered by the API), or null */
  chatTemplatePath: string | null;
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
  const { path: dllmPath, json } = readDllmJson(dir);
  if (json.format_version === 3) return loadDecoderBundle(dir, dllmPath, json, file);
  const d = json;
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
    format: 2,
    modelPath: file(d.graphs.full),
    graphLayout: 'separate',
    name: d.name,
    kind: d.kind,
    attention: { type: 'bidirectional', blockSize: null },
    vocabSize: d.vocab_size,
    maxLength: d.max_length,
    maskId: d.mask_token_id,
    eosId: d.eos_token_id,
    eosIds: [d.eos_token_id],
    padId: d.pad_token_id,
    bosId: null,
    shiftLogits: d.shift_logits,
    defaults: {},
    chatTemplatePath: null,
    reducedOutputs: 'top_ids' in d.outputs && 'top_probs' in d.outputs && 'entropy' in d.outputs,
    hasAttentionMask: d.inputs ? 'attention_mask' in d.inputs : true,
    tokenizer,
    cacheGraphs,
  };
}

/** Format 3 (tools/import): one decoder graph, which also plays the refresh and step graphs. */
function loadDecoderBundle(
  dir: string,
  dllmPath: string,
  d: DllmJsonV3,
  file: (name: string) => string,
): ModelBundle {
  for (const [field, id] of [
    ['mask_token_id', d.mask_token_id],
    ['eos_token_id', d.eos_token_id],
    ['pad_token_id', d.pad_token_id],
    ['bos_token_id', d.bos_token_id ?? 0],
  ] as const) {
    if (id >= d.vocab_size)
      throw new BundleError(`${dllmPath}: ${field} ${id} is outside vocab_size ${d.vocab_size}`);
  }
  const tokenizer = DllmTokenizer.fromFile(file('tokenizer.json'));
  if (tokenizer.vocabSize > d.vocab_size) {
    throw new BundleError(
      `${dllmPath}: vocab_size ${d.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize}`,
    );
  }
  if (d.weights) file(d.weights);
  const decoder = file(d.graphs.decoder);
  const c = d.cache;
  return {
    dir,
    format: 3,
    modelPath: decoder,
    graphLayout: 'decoder',
    name: d.name,
    kind: d.kind,
    attention: {
      type: d.attention.type,
      blockSize: d.attention.type === 'causal' ? 1 : d.attention.block_size,
    },
    vocabSize: d.vocab_size,
    maxLength: d.max_length,
    maskId: d.mask_token_id,
    eosId: d.eos_token_id,
    eosIds: [...new Set([d.eos_token_id, ...d.eos_token_ids])],
    padId: d.pad_token_id,
    bosId: d.bos_token_id,
    shiftLogits: d.shift_logits,
    defaults: d.defaults,
    chatTemplatePath: d.chat_template === null ? null : file(d.chat_template),
    reducedOutputs: true,
    hasAttentionMask: true,
    tokenizer,
    cacheGraphs: {
      refreshPath: decoder,
      stepPath: decoder,
      layers: c.layers,
      heads: c.heads,
      headDim: c.head_dim,
      dModel: c.d_model,
      halo: 0,
      floatsPerPosition: c.layers * c.heads * c.head_dim,
    },
  };
}
