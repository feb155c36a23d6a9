import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelBundle } from '../bundle/model-bundle';
import { parseGenerationParams } from '../params';
import { Scheduler } from '../scheduler/scheduler';
import { OrtForward } from './ort-forward';

// A generic graph (only `logits`) must sample exactly like our reduced-output graph. The bundled
// model has both, so declaring only `logits` in dllm.json exercises the JS-side reduction for real.
describe('generic logits-only graphs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'generic-'));
    for (const f of ['model.onnx', 'weights.bin', 'tokenizer.json', 'dllm.json'])
      cpSync(join('models/dllm-code-small', f), join(dir, f));
    const dllm = JSON.parse(readFileSync(join(dir, 'dllm.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    dllm.outputs = { logits: 'float32 [batch, length, vocab]' };
    dllm.graphs = { full: 'model.onnx' }; // a generic graph comes without cache graphs
    delete dllm.cache;
    writeFileSync(join(dir, 'dllm.json'), JSON.stringify(dllm));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reduces logits in JS to the same greedy choices, forwards and confidences', async () => {
    const run = async (modelDir: string) => {
      const bundle = loadModelBundle(modelDir);
      const forward = await OrtForward.create(bundle);
      const scheduler = new Scheduler(forward, bundle, { maxRows: 4, maxTokens: 4096 });
      const params = parseGenerationParams({
        policy: 'threshold',
        threshold: 0.5,
        gen_length: 16,
        seed: 1,
        cache: 'none',
      });
      const out = await Promise.all([
        scheduler.submit('a', { task: { prompt: 'def main(argv):' }, params }),
        scheduler.submit('b', {
          task: { prefix: 'x = [', suffix: ']\n' },
          params: { ...params, gen_length: 4 },
        }),
      ]);
      await forward.release();
      return {
        reduced: bundle.reducedOutputs,
        out: out.map((r) => ({ text: r.text, steps: r.steps })),
      };
    };
    const ours = await run('models/dllm-code-small');
    const generic = await run(dir);
    expect(ours.reduced).toBe(true);
    expect(generic.reduced).toBe(false);
    expect(generic.out).toEqual(ours.out);
  }, 60_000);
});
