import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelBundle } from './model-bundle';

describe('loadModelBundle', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-'));
    for (const f of ['dllm.json', 'tokenizer.json'])
      cpSync(join('models/dllm-code-small', f), join(dir, f));
    for (const f of ['model.onnx', 'refresh.onnx', 'step.onnx', 'weights.bin'])
      writeFileSync(join(dir, f), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const editDllm = (edit: (j: Record<string, unknown>) => void): void => {
    const j = JSON.parse(readFileSync(join(dir, 'dllm.json'), 'utf8')) as Record<string, unknown>;
    edit(j);
    writeFileSync(join(dir, 'dllm.json'), JSON.stringify(j));
  };

  it('reads the bundled model', () => {
    const b = loadModelBundle('models/dllm-code-small');
    expect(b).toMatchObject({
      maxLength: 256,
      vocabSize: 4096,
      maskId: 2,
      eosId: 1,
      padId: 0,
      reducedOutputs: true,
      shiftLogits: false,
    });
    expect(b.cacheGraphs).toMatchObject({
      layers: 5,
      heads: 4,
      headDim: 64,
      dModel: 256,
      halo: 2,
      floatsPerPosition: 1280,
    });
  });

  it('reads a bundle without cache graphs as full recompute only', () => {
    editDllm((j) => {
      j.graphs = { full: 'model.onnx' };
      delete j.cache;
    });
    expect(loadModelBundle(dir).cacheGraphs).toBeUndefined();
  });

  it('refuses half a pair of cache graphs, or graphs without their shapes', () => {
    editDllm((j) => (j.graphs = { full: 'model.onnx', refresh: 'refresh.onnx' }));
    expect(() => loadModelBundle(dir)).toThrow(
      /dllm\.json: graphs: name both "refresh" and "step", or neither/,
    );
    editDllm((j) => {
      j.graphs = { full: 'model.onnx', refresh: 'refresh.onnx', step: 'step.onnx' };
      delete j.cache;
    });
    expect(() => loadModelBundle(dir)).toThrow(
      /dllm\.json: cache: required with graphs.refresh and graphs.step/,
    );
  });

  it('names a missing graph or weights file', () => {
    rmSync(join(dir, 'step.onnx'));
    expect(() => loadModelBundle(dir)).toThrow(`model bundle ${dir}: missing step.onnx`);
    writeFileSync(join(dir, 'step.onnx'), '');
    rmSync(join(dir, 'weights.bin'));
    expect(() => loadModelBundle(dir)).toThrow(`model bundle ${dir}: missing weights.bin`);
  });

  it('accepts a generic logits-only graph with shifted logits (Dream style)', () => {
    editDllm((j) => {
      j.outputs = { logits: 'float32 [B,L,V]' };
      j.shift_logits = true;
      j.graphs = { full: 'model.onnx' };
      delete j.cache;
    });
    expect(loadModelBundle(dir)).toMatchObject({ reducedOutputs: false, shiftLogits: true });
  });

  it('names the missing file', () => {
    rmSync(join(dir, 'tokenizer.json'));
    expect(() => loadModelBundle(dir)).toThrow(`model bundle ${dir}: missing tokenizer.json`);
  });

  it('names the file and the field that is wrong', () => {
    editDllm((j) => delete j.mask_token_id);
    expect(() => loadModelBundle(dir)).toThrow(/dllm\.json: mask_token_id: /);
    editDllm((j) => (j.mask_token_id = 99999));
    expect(() => loadModelBundle(dir)).toThrow(
      /dllm\.json: mask_token_id 99999 is outside vocab_size 4096/,
    );
    editDllm((j) => {
      j.mask_token_id = 2;
      j.outputs = { hidden: 'x' };
    });
    expect(() => loadModelBundle(dir)).toThrow(/dllm\.json: outputs: must name "logits"/);
  });

  it('says when dllm.json is not JSON', () => {
    writeFileSync(join(dir, 'dllm.json'), '{nope');
    expect(() => loadModelBundle(dir)).toThrow(/dllm\.json: not valid JSON/);
  });
});
