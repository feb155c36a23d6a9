import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dllmJsonV3 } from '../testing/format3-bundle';
import { loadModelBundle } from './model-bundle';

describe('loadModelBundle, format 3 (imported checkpoints)', () => {
  let dir: string;
  const write = (j: Record<string, unknown>) =>
    writeFileSync(join(dir, 'dllm.json'), JSON.stringify(j));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundle3-'));
    cpSync('models/dllm-code-small/tokenizer.json', join(dir, 'tokenizer.json'));
    for (const f of ['model.onnx', 'weights.bin', 'chat_template.jinja'])
      writeFileSync(join(dir, f), '');
    write(dllmJsonV3());
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads kind, topology, eos list, bos, defaults, chat template and the one decoder graph', () => {
    const b = loadModelBundle(dir);
    expect(b).toMatchObject({
      format: 3,
      graphLayout: 'decoder',
      kind: 'masked-diffusion',
      attention: { type: 'bidirectional', blockSize: null },
      eosId: 1,
      eosIds: [1, 7],
      bosId: null,
      shiftLogits: true,
      defaults: { gen_length: 128, block_length: 32, policy: 'threshold', threshold: 0.9 },
      chatTemplatePath: join(dir, 'chat_template.jinja'),
      modelPath: join(dir, 'model.onnx'),
    });
    // the decoder plays the refresh and step graphs: shapes from cache, halo 0
    expect(b.cacheGraphs).toMatchObject({
      refreshPath: join(dir, 'model.onnx'),
      stepPath: join(dir, 'model.onnx'),
      layers: 2,
      heads: 2,
      headDim: 16,
      halo: 0,
      floatsPerPosition: 64,
    });
  });

  it('reads a block-causal and an autoregressive bundle', () => {
    write(dllmJsonV3({ attention: { type: 'block-causal', block_size: 4 } }));
    expect(loadModelBundle(dir).attention).toEqual({ type: 'block-causal', blockSize: 4 });
    write(
      dllmJsonV3({
        kind: 'autoregressive',
        attention: { type: 'causal', block_size: null },
        chat_template: null,
      }),
    );
    const ar = loadModelBundle(dir);
    expect(ar).toMatchObject({ kind: 'autoregressive', chatTemplatePath: null });
    expect(ar.attention).toEqual({ type: 'causal', blockSize: 1 });
  });

  it.each([
    [{ attention: { type: 'block-causal', block_size: null } }, 'attention.block_size: required'],
    [{ attention: { type: 'bidirectional', block_size: 4 } }, 'attention.block_size: must be null'],
    [{ attention: { type: 'sliding', block_size: null } }, 'attention.type: Invalid option'],
    [{ kind: 'autoregressive' }, 'attention.type: an autoregressive model has causal attention'],
    [
      {
        kind: 'autoregressive',
        attention: { type: 'causal', block_size: null },
        shift_logits: false,
      },
      'shift_logits: an autoregressive model predicts the next token',
    ],
    [{ attention: { type: 'causal', block_size: null } }, 'attention.type: a masked-diffusion'],
    [{ eos_token_ids: [] }, 'eos_token_ids: list at least one id'],
    [{ eos_token_ids: [1, 9999] }, 'eos_token_ids.1: 9999 is outside vocab_size'],
    [
      { cache: { layers: 2, heads: 2, head_dim: 16, d_model: 64, halo: 2 } },
      'cache.halo: must be 0',
    ],
    [{ graphs: { full: 'model.onnx' } }, 'graphs.decoder'],
    [{ outputs: { top_ids: 'x', top_probs: 'x' } }, 'outputs: must name top_ids'],
    [
      { defaults: { gen_length: 16, block_length: 32 } },
      'defaults.block_length: must be <= defaults.gen_length',
    ],
    [{ defaults: { policy: 'greedy' } }, 'defaults.policy'],
    [{ defaults: { steps: 3 } }, 'defaults.steps: unknown field'],
    [{ bos_token_id: undefined }, 'bos_token_id'],
  ])('names the bad field: %j', (edit, message) => {
    write(dllmJsonV3(edit));
    expect(() => loadModelBundle(dir)).toThrow(message);
  });

  it('names a missing decoder graph or chat template file', () => {
    rmSync(join(dir, 'chat_template.jinja'));
    expect(() => loadModelBundle(dir)).toThrow(`model bundle ${dir}: missing chat_template.jinja`);
    writeFileSync(join(dir, 'chat_template.jinja'), '');
    rmSync(join(dir, 'model.onnx'));
    expect(() => loadModelBundle(dir)).toThrow(`model bundle ${dir}: missing model.onnx`);
  });

  it('keeps the bundled format-2 model as it was, with the new fields filled in', () => {
    const b = loadModelBundle('models/dllm-code-small');
    expect(b).toMatchObject({
      format: 2,
      graphLayout: 'separate',
      kind: 'masked-diffusion',
      attention: { type: 'bidirectional', blockSize: null },
      eosIds: [1],
      bosId: null,
      defaults: {},
      chatTemplatePath: null,
    });
    expect(b.cacheGraphs?.halo).toBe(2);
  });
});
