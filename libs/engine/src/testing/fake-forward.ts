import type { ModelBundle } from '../bundle/model-bundle';
import type { ForwardBatch, ForwardPass, ForwardResult } from '../runtime/forward-pass';
import { DllmTokenizer } from '../tokenizer';

/** What the fake model says about position `p` of a row (ids = the row's unpadded tokens). */
export type FakePrediction = (
  ids: number[],
  p: number,
) => { ids: number[]; probs: number[]; entropy?: number };

/**
 * A ForwardPass with a hand-written "model", for scheduler and sampler tests that need exact control
 * of confidences. Records the shape of every forward it is asked for.
 */
export class FakeForward implements ForwardPass {
  readonly provider = 'fake';
  readonly calls: Array<{ rows: number; length: number; realTokens: number }> = [];
  delayMs = 0;

  constructor(private readonly predict: FakePrediction) {}

  async run(b: ForwardBatch): Promise<ForwardResult> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const k = 4;
    const topIds = new BigInt64Array(b.rows * b.length * k);
    const topProbs = new Float32Array(b.rows * b.length * k);
    const entropy = new Float32Array(b.rows * b.length);
    let real = 0;
    for (let r = 0; r < b.rows; r++) {
      const ids: number[] = [];
      for (let p = 0; p < b.length; p++)
        if (b.attention[r * b.length + p] === 1n) ids.push(Number(b.ids[r * b.length + p]));
      real += ids.length;
      for (let p = 0; p < ids.length; p++) {
        const pred = this.predict(ids, p);
        for (let i = 0; i < k; i++) {
          topIds[(r * b.length + p) * k + i] = BigInt(pred.ids[i] ?? pred.ids[0]!);
          topProbs[(r * b.length + p) * k + i] = pred.probs[i] ?? 0;
        }
        entropy[r * b.length + p] = pred.entropy ?? 1;
      }
    }
    this.calls.push({ rows: b.rows, length: b.length, realTokens: real });
    return { rows: b.rows, length: b.length, topIds, topProbs, entropy, k, vocab: 4096 };
  }

  async release(): Promise<void> {}
}

/** The bundled model's tokenizer and ids, with a graph that is never loaded. */
export function fakeBundle(overrides: Partial<ModelBundle> = {}): ModelBundle {
  return {
    dir: 'models/dllm-code-small',
    format: 2,
    modelPath: 'unused.onnx',
    graphLayout: 'separate',
    name: 'fake',
    kind: 'masked-diffusion',
    attention: { type: 'bidirectional', blockSize: null },
    vocabSize: 4096,
    maxLength: 256,
    maskId: 2,
    eosId: 1,
    eosIds: [1],
    padId: 0,
    bosId: null,
    shiftLogits: false,
    defaults: {},
    chatTemplatePath: null,
    reducedOutputs: true,
    hasAttentionMask: true,
    tokenizer: DllmTokenizer.fromFile('models/dllm-code-small/tokenizer.json'),
    ...overrides,
  };
}
