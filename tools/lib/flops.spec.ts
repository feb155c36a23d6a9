import { join } from 'node:path';
import { flopsPerForward, flopsPerToken, readModelDimensions, type ModelDimensions } from './flops';

const tiny: ModelDimensions = {
  d_model: 2,
  n_layers: 1,
  n_heads: 1,
  mlp_ratio: 1,
  conv_kernel: 3,
  vocab_size: 5,
};

describe('forward FLOPs', () => {
  it('counts QKV, proj, MLP, conv and attention per layer plus the tied LM head per token', () => {
    // d=2, L=4: QKV 24 + proj 8 + MLP 16 + conv 12 + attention 32 = 92, head 2*2*5 = 20
    expect(flopsPerToken(tiny, 4)).toBe(112);
  });

  it('grows with the sequence length only through attention (2*2*L*d per layer)', () => {
    const dims = { ...tiny, n_layers: 3 };
    expect(flopsPerToken(dims, 10) - flopsPerToken(dims, 4)).toBe(3 * 2 * 2 * 6 * 2);
  });

  it('does not depend on the number of heads', () => {
    expect(flopsPerToken({ ...tiny, n_heads: 2 }, 4)).toBe(flopsPerToken(tiny, 4));
  });

  it('scales a forward by rows x length tokens', () => {
    expect(flopsPerForward(tiny, 3, 4)).toBe(3 * 4 * 112);
  });

  it('gives about 11.3 MFLOP per token for the bundled model at L=256', () => {
    const dims = readModelDimensions(join(__dirname, '..', '..', 'models', 'dllm-code-small'));
    expect(dims).toEqual({
      d_model: 256,
      n_layers: 5,
      n_heads: 4,
      mlp_ratio: 4,
      conv_kernel: 5,
      vocab_size: 4096,
    });
    // 5 * (QKV 6 + proj 2 + MLP 16 = 24 d^2, conv 2*5*d, attention 4*256*d) + head 2*d*4096, d = 256
    expect(flopsPerToken(dims, 256)).toBe(5 * (24 * 65536 + 2560 + 262144) + 2097152);
  });
});
