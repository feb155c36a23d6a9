import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ModelParamDefaults } from '../params';
import type { ModelShape } from '../request/model-rules';
import { BundleError, readDllmJson, type DllmJson } from './dllm-json';

/**
 * The models a deployment serves (MODEL_DIR, the default, then MODELS), read from their dllm.json
 * only: the API and the workers agree on names without loading a graph or a tokenizer. Pure fs.
 */

/** What a model's name may be: it names its queues in Redis (no ':'), and goes in URLs and logs. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

export interface CatalogModel {
  /** the name requests use and batches record */
  name: string;
  /** other names accepted for it (its folder, its dllm.json name when renamed) */
  aliases: string[];
  dir: string;
  json: DllmJson;
  /** unix seconds: when its dllm.json was written (GET /v1/models `created`) */
  createdAt: number;
  shape: ModelShape;
  maxLength: number;
  shiftLogits: boolean;
  /** generation defaults under a request's own values (dllm.json `defaults`; none for format 1-2) */
  defaults: ModelParamDefaults;
  /** its chat template file, or null (the bundled model's own renderer applies) */
  chatTemplatePath: string | null;
}

export interface CatalogEntry {
  name?: string;
  dir: string;
}

/** Reads one bundle's catalog entry; `where` names the setting it came from in errors. */
export function readCatalogModel(entry: CatalogEntry, where: string): CatalogModel {
  const dir = resolve(entry.dir);
  let read: ReturnType<typeof readDllmJson>;
  try {
    read = readDllmJson(dir);
  } catch (err) {
    throw new BundleError(`${where}: ${(err as Error).message}`);
  }
  const { json } = read;
  const folder = basename(dir);
  const bundleName = read.nameGiven ? json.name : folder;
  const name = entry.name ?? bundleName;
  if (!MODEL_NAME.test(name)) {
    throw new BundleError(
      `${where}: model name ${JSON.stringify(name)} must be 1-128 letters, digits, ".", "_", "-" or "/", starting with a letter or digit (give NAME=DIR)`,
    );
  }
  const v3 = json.format_version === 3 ? json : null;
  return {
    name,
    aliases: [...new Set([folder, bundleName])].filter((a) => a !== name && MODEL_NAME.test(a)),
    dir,
    json,
    createdAt: Math.floor(statSync(read.path).mtimeMs / 1000),
    shape: v3
      ? {
          kind: v3.kind,
          attention: {
            type: v3.attention.type,
            blockSize: v3.attention.type === 'causal' ? 1 : v3.attention.block_size,
          },
        }
      : { kind: 'masked-diffusion', attention: { type: 'bidirectional', blockSize: null } },
    maxLength: json.max_length,
    shiftLogits: json.shift_logits,
    defaults: v3 ? v3.defaults : {},
    chatTemplatePath: v3?.chat_template ? join(dir, v3.chat_template) : null,
  };
}

/**
 * The default model (MODEL_DIR) first, then MODELS in order. Throws a BundleError naming the
 * setting when a bundle is unreadable or two models would answer to the same name.
 */
export function readModelCatalog(
  defaultDir: string,
  more: readonly CatalogEntry[] = [],
): CatalogModel[] {
  const models = [
    readCatalogModel({ dir: defaultDir }, 'MODEL_DIR'),
    ...more.map((entry, i) => readCatalogModel(entry, `MODELS entry ${i + 1} (${entry.dir})`)),
  ];
  const owner = new Map<string, string>();
  for (const model of models) {
    if (owner.has(model.name)) {
      throw new BundleError(
        `MODELS: two bundles are named ${JSON.stringify(model.name)} (${owner.get(model.name)} and ${model.dir}); rename one with NAME=DIR`,
      );
    }
    owner.set(model.name, model.dir);
  }
  // an alias never shadows a name, and is dropped where two models share it
  const aliasCount = new Map<string, number>();
  for (const m of models)
    for (const a of m.aliases) aliasCount.set(a, (aliasCount.get(a) ?? 0) + 1);
  for (const m of models) {
    m.aliases = m.aliases.filter((a) => !owner.has(a) && aliasCount.get(a) === 1);
  }
  return models;
}

/**
 * The catalog models a worker serves: WORKER_MODELS names (or "*"), none given: the default.
 * Throws naming the unknown names and the known ones.
 */
export function pickModels(
  catalog: readonly CatalogModel[],
  names: readonly string[],
): CatalogModel[] {
  if (names.length === 0) return [catalog[0]!];
  if (names.includes('*')) return [...catalog];
  const picked: CatalogModel[] = [];
  const unknown: string[] = [];
  for (const wanted of names) {
    const model = catalog.find((m) => m.name === wanted || m.aliases.includes(wanted));
    if (!model) unknown.push(wanted);
    else if (!picked.includes(model)) picked.push(model);
  }
  if (unknown.length > 0) {
    throw new BundleError(
      `WORKER_MODELS: ${unknown.map((n) => JSON.stringify(n)).join(', ')} not in the catalog (MODEL_DIR, MODELS): known ${catalog.map((m) => m.name).join(', ')}`,
    );
  }
  return picked;
}
