import { join } from 'node:path';
import { z } from 'zod';
import { DllmTokenizer } from '../tokenizer';
import {
  foldTopLevelParams,
  itemSchema,
  PromptBudget,
  rowLengthProblem,
  taskOf,
  zodIssues,
} from './index';

const tokenizer = DllmTokenizer.fromFile(
  join(__dirname, '../../../../models/dllm-code-small/tokenizer.json'),
);

const issues = (value: unknown) => {
  const r = itemSchema.safeParse(value);
  return r.success ? [] : zodIssues(r.error);
};

describe('itemSchema (one item of a batch, one CLI input line)', () => {
  it('takes a continuation or an infill, with optional params', () => {
    expect(issues({ custom_id: 'a', prompt: 'x = ' })).toEqual([]);
    expect(issues({ custom_id: 'a', prefix: 'x', suffix: 'y', params: { gen_length: 8 } })).toEqual(
      [],
    );
  });

  it('says what is wrong, at which field, every problem at once', () => {
    expect(issues({ prompt: 7, temperature: 1 })).toEqual([
      { field: 'custom_id', message: 'is required' },
      { field: 'prompt', message: 'must be a string (got a number)' },
      {
        field: 'temperature',
        message: 'unknown field (allowed: custom_id, prompt, prefix, suffix, params)',
      },
    ]);
    expect(issues({ custom_id: 'x'.repeat(65), prefix: 'p' })).toEqual([
      { field: 'custom_id', message: 'must be 1 to 64 characters (got 65)' },
      { field: 'suffix', message: 'is required with prefix (infill)' },
    ]);
    expect(issues({ custom_id: 'a', prompt: 'x', prefix: 'y', suffix: 'z' })).toEqual([
      { field: 'prompt', message: 'give either prompt, or prefix and suffix (infill), not both' },
    ]);
    expect(issues({ custom_id: 'a', params: [] })).toEqual([
      { field: 'params', message: 'must be an object (got an array)' },
      { field: 'prompt', message: 'is required (or prefix and suffix for infill)' },
    ]);
  });

  it('taskOf names the task of valid fields', () => {
    expect(taskOf({ prompt: 'a' })).toEqual({ task: { prompt: 'a' } });
    expect(taskOf({ prefix: 'a', suffix: 'b' })).toEqual({ task: { prefix: 'a', suffix: 'b' } });
    expect(taskOf({ suffix: 'b' })).toEqual({
      field: 'prefix',
      message: 'is required with suffix (infill)',
    });
  });
});

describe('foldTopLevelParams (the CLI line format)', () => {
  it('moves parameters given at the top level into params, over nested ones', () => {
    expect(
      foldTopLevelParams({
        custom_id: 'a',
        prompt: 'x',
        seed: 2,
        params: { seed: 1, gen_length: 8 },
      }),
    ).toEqual({
      item: { custom_id: 'a', prompt: 'x', params: { seed: 2, gen_length: 8 } },
      folded: new Set(['seed']),
    });
    expect(foldTopLevelParams({ custom_id: 'a', prompt: 'x' }).item).toEqual({
      custom_id: 'a',
      prompt: 'x',
    });
  });
});

describe('zodIssues (the one error format)', () => {
  it('splits unknown keys into one issue per key and explains bad record keys', () => {
    const schema = z.strictObject({
      m: z.record(z.string().max(2, 'keys are 1 to 2 characters'), z.string()),
    });
    const r = schema.safeParse({ m: { abc: 'x' }, a: 1, b: 2 });
    expect(zodIssues(r.error!, 'body')).toEqual([
      { field: 'body.m.abc', message: 'keys are 1 to 2 characters' },
      { field: 'body.a', message: 'unknown field' },
      { field: 'body.b', message: 'unknown field' },
    ]);
  });
});

describe('rowLengthProblem (the length rule of engine and API)', () => {
  const limits = { maxLength: 256, shiftLogits: false };
  it('refuses prompt + gen_length beyond the model, in the words both sides use', () => {
    expect(rowLengthProblem({ prompt: 'x' }, { before: 200, after: 0 }, 64, limits)).toBe(
      "prompt is 200 tokens; with gen_length 64 that is 264 > the model's max length 256",
    );
    expect(rowLengthProblem({ prefix: 'a', suffix: 'b' }, { atLeast: 250 }, 8, limits)).toBe(
      "prefix + suffix is at least 250 tokens; with gen_length 8 that is 258 > the model's max length 256",
    );
    expect(rowLengthProblem({ prompt: 'x' }, { before: 192, after: 0 }, 64, limits)).toBeNull();
  });

  it('refuses an empty prompt for a shifted-logits model', () => {
    expect(
      rowLengthProblem({ prompt: '' }, { before: 0, after: 0 }, 8, {
        maxLength: 256,
        shiftLogits: true,
      }),
    ).toBe('prompt must not be empty for a shifted-logits model');
    expect(
      new PromptBudget(tokenizer, { maxLength: 256, shiftLogits: true }).check({ prompt: '' }, 8),
    ).toMatch(/must not be empty/);
  });
});

describe('the request modules stay pure', () => {
  it('load without the onnxruntime runtime (the API imports them)', async () => {
    await jest.isolateModulesAsync(async () => {
      jest.doMock('onnxruntime-node', () => {
        throw new Error('the runtime was loaded');
      });
      await expect(
        Promise.all([
          import('./index'),
          import('../bundle/dllm-json'),
          import('../params'),
          import('../tokenizer'),
        ]),
      ).resolves.toHaveLength(4);
    });
  });
});

describe('PromptBudget', () => {
  const budget = new PromptBudget(tokenizer, 256);

  it('accepts prompts whose byte length alone proves they fit', () => {
    expect(budget.check({ prompt: 'a'.repeat(192) }, 64)).toBeNull();
  });

  it('counts tokens exactly when bytes alone cannot decide', () => {
    const text = 'def f(x):\n    return x\n'.repeat(12); // ~290 bytes, far fewer tokens
    expect(Buffer.byteLength(text)).toBeGreaterThan(192);
    expect(tokenizer.encode(text).length).toBeLessThanOrEqual(192);
    expect(budget.check({ prompt: text }, 64)).toBeNull();
  });

  it('counts prefix and suffix separately, as the worker lays them out', () => {
    const half = 'zq'.repeat(60);
    const tokens = tokenizer.encode(half).length * 2;
    const message = budget.check({ prefix: half, suffix: half }, 256 - tokens + 1);
    expect(message).toBe(
      `prefix + suffix is ${tokens} tokens; with gen_length ${256 - tokens + 1} that is 257 > the model's max length 256`,
    );
    expect(budget.check({ prefix: half, suffix: half }, 256 - tokens)).toBeNull();
  });
});
