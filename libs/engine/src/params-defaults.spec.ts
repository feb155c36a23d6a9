import { parseGenerationParams, ParamsError } from './params';

describe('per-model defaults (dllm.json `defaults`)', () => {
  const model = { gen_length: 128, block_length: 32, policy: 'fixed', threshold: 0.8 } as const;

  it('fill what the request leaves out, above the schema defaults', () => {
    expect(parseGenerationParams({}, 'params', model)).toMatchObject({
      gen_length: 128,
      block_length: 32,
      policy: 'fixed',
      threshold: 0.8,
      temperature: 0, // the schema's own default, the model says nothing of it
    });
    // no model defaults: the schema's
    expect(parseGenerationParams({})).toMatchObject({ gen_length: 64, policy: 'threshold' });
    expect(parseGenerationParams({}).block_length).toBeUndefined();
  });

  it("let a request's explicit value win", () => {
    expect(
      parseGenerationParams({ gen_length: 48, policy: 'entropy', threshold: 0.5 }, 'p', model),
    ).toMatchObject({ gen_length: 48, block_length: 32, policy: 'entropy', threshold: 0.5 });
  });

  it('cap the model block length at a shorter requested gen_length, but not an explicit one', () => {
    expect(parseGenerationParams({ gen_length: 16 }, 'p', model).block_length).toBe(16);
    expect(() => parseGenerationParams({ gen_length: 16, block_length: 32 }, 'p', model)).toThrow(
      'p.block_length: must be <= gen_length (16)',
    );
  });

  it('still refuse bad input by the same schema', () => {
    expect(() => parseGenerationParams({ temprature: 1 }, 'p', model)).toThrow(ParamsError);
    expect(() => parseGenerationParams('x', 'p', model)).toThrow(ParamsError);
  });
});
