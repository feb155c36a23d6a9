import { parseGenerationParams, type GenerationParamsInput } from '../params';
import { StepBudget, type BudgetShape } from './step-budget';

const shape: BudgetShape = {
  genLength: 8,
  blocks: 2,
  blockLength: 4,
  autoregressive: false,
  infill: false,
};
const budget = (params: GenerationParamsInput, s: Partial<BudgetShape> = {}) =>
  new StepBudget(parseGenerationParams(params), { ...shape, ...s });
const all = <T>(c: T[]) => c;

describe('StepBudget', () => {
  it('makes the max_steps-th forward the final one: greedy, committing every candidate', () => {
    const b = budget({ gen_length: 8, max_steps: 3, temperature: 0.9, top_p: 0.8 });
    const sampling = { temperature: 0.9, top_p: 0.8 };
    expect(b.take(sampling)).toEqual({ final: false, sampling });
    expect(b.take(sampling)).toEqual({ final: false, sampling });
    expect(b.finalCommit).toBe(true);
    expect(b.take(sampling)).toEqual({ final: true, sampling: { temperature: 0, top_p: 1 } });
    expect(b.choose([1, 2, 3], true, 3, () => [1])).toEqual([1, 2, 3]);
    expect(b.steps).toBe(3);
  });

  it('spreads the tokens left over the forwards min_steps still requires', () => {
    const b = budget({ gen_length: 8, min_steps: 4 });
    b.take({ temperature: 0, top_p: 1 });
    // 8 left over 4 required forwards: at most 2 now, whatever the policy chose
    expect(b.choose([1, 2, 3, 4, 5], false, 8, all)).toEqual([1, 2]);
    b.take({ temperature: 0, top_p: 1 });
    expect(b.choose([1, 2, 3, 4, 5], false, 5, all)).toEqual([1, 2]);
    b.take({ temperature: 0, top_p: 1 });
    b.take({ temperature: 0, top_p: 1 });
    // the floor is met: the policy's choice stands
    expect(b.choose([1, 2, 3], false, 3, all)).toEqual([1, 2, 3]);
  });

  it('lets an autoregressive row commit its one position every forward, and never "finish greedily"', () => {
    const b = budget({ gen_length: 8, min_steps: 8 }, { autoregressive: true, blockLength: 1 });
    expect(b.maxSteps).toBe(8);
    for (let i = 0; i < 7; i++) b.take({ temperature: 0, top_p: 1 });
    expect(b.finalCommit).toBe(false);
    expect(b.choose([7], false, 1, () => [])).toEqual([7]);
  });

  it('follows the fixed schedule within a block and starts it again at the next', () => {
    const b = budget({ gen_length: 8, max_steps: 4 });
    // 4 steps over 2 blocks: 2 per block of 4, so 2 + 2
    expect(b.fixedCount(4, 4)).toBe(2);
    b.endStep(false);
    expect(b.fixedCount(4, 2)).toBe(2);
    b.endStep(false);
    // past the schedule: whatever is left
    expect(b.fixedCount(4, 1)).toBe(1);
    b.endStep(true);
    expect(b.fixedCount(4, 4)).toBe(2);
  });

  it('lets EOS end the text only where the params allow it and the row is no infill', () => {
    expect(budget({ gen_length: 8, stop_at_eos: true }).eosEnds).toBe(true);
    expect(budget({ gen_length: 8, stop_at_eos: false }).eosEnds).toBe(false);
    expect(budget({ gen_length: 8, stop_at_eos: true }, { infill: true }).eosEnds).toBe(false);
  });
});
