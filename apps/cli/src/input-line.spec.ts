import { parseInputLine } from './input-line';

describe('parseInputLine', () => {
  it('reads a continuation with per-line params over the defaults', () => {
    const p = parseInputLine(
      '{"custom_id":"a","prompt":"def f():","policy":"fixed","gen_length":8}',
      1,
      { policy: 'threshold', seed: 3 },
    );
    expect(p).toEqual({
      customId: 'a',
      task: { prompt: 'def f():' },
      params: { policy: 'fixed', gen_length: 8, seed: 3 },
    });
  });

  it('reads parameters nested in params, as the API takes items', () => {
    const p = parseInputLine(
      '{"custom_id":"a","prompt":"x","params":{"gen_length":8},"seed":2}',
      1,
      { seed: 1 },
    );
    expect(p.params).toEqual({ gen_length: 8, seed: 2 });
  });

  it("accepts a line's model when it is the bundle being run, and names the mismatch otherwise", () => {
    const line = '{"custom_id":"a","prompt":"x","model":"tiny-chat"}';
    expect(parseInputLine(line, 1, {}, { name: 'tiny-chat', aliases: [] }).task).toEqual({
      prompt: 'x',
    });
    expect(() =>
      parseInputLine(line, 4, {}, { name: 'dllm-code-small', aliases: ['models'] }),
    ).toThrow(
      'line 4: model: names "tiny-chat", but this run generates with dllm-code-small (--model); name it or leave model out',
    );
  });

  it('reads an infill', () => {
    expect(parseInputLine('{"custom_id":"b","prefix":"x = ","suffix":"\\n"}', 2, {}).task).toEqual({
      prefix: 'x = ',
      suffix: '\n',
    });
  });

  it.each([
    ['{"custom_id":"a","prompt":', 'line 7: not valid JSON'],
    ['[1,2]', 'line 7: must be a JSON object'],
    ['{"prompt":"x"}', 'line 7: custom_id: '],
    ['{"custom_id":"","prompt":"x"}', 'line 7: custom_id: '],
    ['{"custom_id":"a"}', 'line 7: prompt: is required (or prefix and suffix for infill)'],
    [
      '{"custom_id":"a","prompt":"x","suffix":"y"}',
      'line 7: prompt: give either prompt, or prefix and suffix (infill), not both',
    ],
    [
      '{"custom_id":"a","prompt":"x","temprature":1}',
      'line 7: temprature: unknown field (allowed: custom_id, prompt, prefix, suffix, params',
    ],
    [
      '{"custom_id":"a","prompt":"x","params":{"temprature":1}}',
      'line 7: params.temprature: unknown field',
    ],
    [
      '{"custom_id":"a","prompt":"x","params":{"gen_length":0}}',
      'line 7: params.gen_length: Too small',
    ],
    ['{"custom_id":"a","prompt":"x","gen_length":0}', 'line 7: gen_length: Too small'],
    ['{"custom_id":"a","prompt":"x","policy":"greedy"}', 'line 7: policy: '],
    [
      '{"custom_id":"a","prompt":"x","block_length":100}',
      'line 7: block_length: must be <= gen_length (64)',
    ],
  ])('rejects %s with a message naming the line and field', (text, message) => {
    expect(() => parseInputLine(text, 7, {})).toThrow(message);
  });

  it('keeps the custom_id of a bad line so the output can name it', () => {
    try {
      parseInputLine('{"custom_id":"keep","prompt":"x","top_p":2}', 3, {});
      throw new Error('expected a LineError');
    } catch (e) {
      expect(e).toMatchObject({ line: 3, customId: 'keep' });
    }
  });
});
