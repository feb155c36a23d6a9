import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dllmJsonV3 } from '../testing/format3-bundle';
import { pickModels, readModelCatalog } from './model-catalog';

const BUNDLED = resolve(__dirname, '../../../../models/dllm-code-small');

/** A folder holding only a dllm.json (the catalog reads nothing else). */
function bundle(root: string, folder: string, json: Record<string, unknown>): string {
  const dir = join(root, folder);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'dllm.json'), JSON.stringify(json));
  return dir;
}

describe('readModelCatalog (MODEL_DIR first, then MODELS)', () => {
  const root = mkdtempSync(join(tmpdir(), 'catalog-'));
  const dream = bundle(root, 'dream-folder', dllmJsonV3({ name: 'tiny-dream' }));
  const sdar = bundle(
    root,
    'sdar',
    dllmJsonV3({
      name: 'tiny-sdar',
      attention: { type: 'block-causal', block_size: 4 },
      chat_template: null,
      defaults: { block_length: 4 },
    }),
  );

  it('names each model by its dllm.json (or NAME=DIR), with its shape, defaults and template', () => {
    const catalog = readModelCatalog(BUNDLED, [{ dir: dream }, { name: 'sdar-4b', dir: sdar }]);
    expect(catalog.map((m) => m.name)).toEqual(['dllm-code-small', 'tiny-dream', 'sdar-4b']);
    expect(catalog[0]).toMatchObject({
      defaults: {},
      chatTemplatePath: null,
      shape: { kind: 'masked-diffusion', attention: { type: 'bidirectional' } },
    });
    expect(catalog[1]).toMatchObject({
      aliases: ['dream-folder'],
      maxLength: 256,
      shiftLogits: true,
      defaults: { gen_length: 128, block_length: 32, policy: 'threshold', threshold: 0.9 },
      chatTemplatePath: join(dream, 'chat_template.jinja'),
    });
    expect(catalog[2]).toMatchObject({
      aliases: ['sdar', 'tiny-sdar'],
      shape: { attention: { type: 'block-causal', blockSize: 4 } },
      chatTemplatePath: null,
    });
  });

  it('refuses two bundles under one name, and names a worker cannot be given', () => {
    const twin = bundle(root, 'twin', dllmJsonV3({ name: 'tiny-dream' }));
    expect(() => readModelCatalog(BUNDLED, [{ dir: dream }, { dir: twin }])).toThrow(
      /two bundles are named "tiny-dream".*rename one with NAME=DIR/,
    );
    expect(() => readModelCatalog(BUNDLED, [{ name: 'a:b', dir: dream }])).toThrow(
      /MODELS entry 1 .*model name "a:b" must be/,
    );
    expect(() => readModelCatalog(BUNDLED, [{ dir: join(root, 'nothing') }])).toThrow(
      /MODELS entry 1 .*missing dllm.json/,
    );
  });

  it('picks the models of WORKER_MODELS: none given is the default, "*" is all', () => {
    const catalog = readModelCatalog(BUNDLED, [{ dir: dream }, { dir: sdar }]);
    expect(pickModels(catalog, []).map((m) => m.name)).toEqual(['dllm-code-small']);
    expect(pickModels(catalog, ['*'])).toHaveLength(3);
    expect(pickModels(catalog, ['dream-folder', 'tiny-sdar']).map((m) => m.name)).toEqual([
      'tiny-dream',
      'tiny-sdar',
    ]);
    expect(() => pickModels(catalog, ['llama'])).toThrow(
      'WORKER_MODELS: "llama" not in the catalog (MODEL_DIR, MODELS): known dllm-code-small, tiny-dream, tiny-sdar',
    );
  });
});
