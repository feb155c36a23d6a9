import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonSubmission } from './json-submission';
import { parseJsonlSubmission } from './jsonl-submission';
import { bundledModel, problems, submissionRules } from './submission-fixtures';

const rules = submissionRules({
  webhookAllowedUrls: ['https://hooks.example.com/dllm/'],
  models: [bundledModel({ aliases: ['small'] })],
});

const line = (
  custom_id: string,
  body: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => JSON.stringify({ custom_id, method: 'POST', url: '/v1/completions', body, ...extra });

describe('parseJsonSubmission', () => {
  it('merges item params over batch params and fills every default', () => {
    const s = parseJsonSubmission(
      {
        params: { gen_length: 32, temperature: 0.5 },
        items: [
          { custom_id: 'a', prompt: 'x = ' },
          { custom_id: 'b', prefix: 'def f():\n', suffix: '\n', params: { gen_length: 8 } },
        ],
      },
      rules,
    );
    expect(s.model).toBe('dllm-code-small');
    expect(s.params).toEqual({ gen_length: 32, temperature: 0.5 });
    expect(s.items[0]).toMatchObject({ customId: 'a', task: { prompt: 'x = ' } });
    expect(s.items[0]!.params).toMatchObject({
      gen_length: 32,
      temperature: 0.5,
      policy: 'threshold',
      top_p: 1,
    });
    expect(s.items[1]).toMatchObject({ task: { prefix: 'def f():\n', suffix: '\n' } });
    expect(s.items[1]!.params).toMatchObject({ gen_length: 8, temperature: 0.5 });
    expect(JSON.parse(s.items[1]!.paramsJson)).toEqual(s.items[1]!.params);
  });

  it('accepts the model by an alias and a completion window as a duration', () => {
    const s = parseJsonSubmission(
      { model: 'small', completion_window: '90m', items: [{ custom_id: 'a', prompt: '' }] },
      rules,
    );
    expect(s).toMatchObject({ model: 'dllm-code-small', completionWindow: 5400 });
  });

  it('reports every problem with its item index and field, not just the first', () => {
    expect(
      problems(() =>
        parseJsonSubmission(
          {
            items: [
              { custom_id: 'a', prompt: 'x', params: { gen_length: 0 } },
              { custom_id: 'a', prompt: 'y' },
              { custom_id: 'c', prefix: 'p' },
            ],
          },
          rules,
        ),
      ),
    ).toEqual([
      { index: 0, field: 'params.gen_length', message: 'Too small: expected number to be >=1' },
      { index: 1, field: 'custom_id', message: 'duplicate custom_id "a" (first used at items[0])' },
      { index: 2, field: 'suffix', message: 'is required with prefix (infill)' },
    ]);
  });

  it('reports invalid batch defaults once, not once per item', () => {
    const details = problems(() =>
      parseJsonSubmission(
        {
          params: { policy: 'greedy' },
          items: [
            { custom_id: 'a', prompt: 'x' },
            { custom_id: 'b', prompt: 'x' },
          ],
        },
        rules,
      ),
    );
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({ field: 'params.policy' });
  });

  it('checks prompt tokens + gen_length against the model length', () => {
    // Short prompts are accepted without tokenizing; long ones are counted exactly.
    expect(() =>
      parseJsonSubmission({ items: [{ custom_id: 'a', prompt: 'x'.repeat(192) }] }, rules),
    ).not.toThrow();
    const details = problems(() =>
      parseJsonSubmission(
        { items: [{ custom_id: 'a', prompt: 'qz'.repeat(300), params: { gen_length: 64 } }] },
        rules,
      ),
    );
    expect(details[0]).toMatchObject({ index: 0, field: 'prompt' });
    expect(details[0]!.message).toMatch(
      /tokens; with gen_length 64 that is \d+ > the model's max length 256/,
    );
  });
});

describe('parseJsonlSubmission', () => {
  it('maps OpenAI completion lines: max_tokens -> gen_length, stop string -> list, suffix -> infill', () => {
    const s = parseJsonlSubmission(
      [
        line('one', {
          model: 'dllm-code-small',
          prompt: 'import os\n',
          max_tokens: 16,
          temperature: 0.2,
          stop: '\n\n',
          user: 'u1',
        }),
        '',
        line('two', {
          prompt: 'def f():\n    ',
          suffix: '\n',
          max_tokens: 4,
          policy: 'factor',
          factor: 2,
        }),
      ].join('\r\n'),
      { completion_window: '3600', metadata: { source: 'file' } },
      rules,
    );
    expect(s).toMatchObject({
      model: 'dllm-code-small',
      completionWindow: 3600,
      metadata: { source: 'file' },
    });
    expect(s.items).toHaveLength(2);
    expect(s.items[0]!.params).toMatchObject({ gen_length: 16, temperature: 0.2, stop: ['\n\n'] });
    expect(s.items[1]).toMatchObject({
      customId: 'two',
      task: { prefix: 'def f():\n    ', suffix: '\n' },
    });
    expect(s.items[1]!.params).toMatchObject({ gen_length: 4, policy: 'factor', factor: 2 });
  });

  it('names the line and the field the user wrote', () => {
    expect(
      problems(() =>
        parseJsonlSubmission(
          [
            line('a', { prompt: 'x', max_tokens: 5000 }),
            '{"custom_id": "b"',
            line('c', { prompt: 'x', logprobs: 3, frobnicate: true }),
            line('d', { prompt: 'x' }, { url: '/v1/embeddings' }),
          ].join('\n'),
          {},
          rules,
        ),
      ),
    ).toEqual([
      { line: 1, field: 'body.max_tokens', message: 'Too big: expected number to be <=4096' },
      { line: 2, field: '(line)', message: expect.stringMatching(/^not valid JSON/) as string },
      { line: 3, field: 'body.logprobs', message: 'is not supported by this service' },
      { line: 3, field: 'body.frobnicate', message: 'unknown field' },
      {
        line: 4,
        field: 'url',
        message: 'must be "/v1/completions" or "/v1/chat/completions" (got "/v1/embeddings")',
      },
    ]);
  });

  it('refuses more lines than the batch limit before parsing them', () => {
    const many = Array.from({ length: 11 }, (_, i) => line(`r${i}`, { prompt: 'x' })).join('\n');
    expect(problems(() => parseJsonlSubmission(many, {}, rules))).toEqual([
      { field: '(body)', message: 'at most 10 lines per batch (got 11)' },
    ]);
  });

  it('reports duplicate custom_ids by line', () => {
    const details = problems(() =>
      parseJsonlSubmission(
        [line('a', { prompt: 'x' }), line('a', { prompt: 'y' })].join('\n'),
        {},
        rules,
      ),
    );
    expect(details).toEqual([
      { line: 2, field: 'custom_id', message: 'duplicate custom_id "a" (first used at line 1)' },
    ]);
  });
});

describe('OpenAI batch lines for chat and across endpoints', () => {
  const chatLine = (custom_id: string, body: Record<string, unknown>) =>
    JSON.stringify({ custom_id, method: 'POST', url: '/v1/chat/completions', body });

  it('renders chat messages into one prompt and maps max_completion_tokens', () => {
    const s = parseJsonlSubmission(
      chatLine('c', {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'def f():' },
        ],
        max_completion_tokens: 8,
        stop: ['\n\n'],
        n: 1,
      }),
      {},
      rules,
    );
    expect(s.endpoint).toBe('/v1/chat/completions');
    expect(s.items[0]).toMatchObject({
      task: { prompt: '# Be brief.\ndef f():\n' },
      params: { gen_length: 8, stop: ['\n\n'] },
    });
  });

  it('refuses mixed endpoints, a line off the batch endpoint, and fields with no equivalent', () => {
    expect(
      problems(() =>
        parseJsonlSubmission(
          [
            line('a', { prompt: 'x' }),
            chatLine('b', { messages: [{ role: 'user', content: 'x' }] }),
            chatLine('c', {
              messages: [],
              tools: [{ type: 'function' }],
              max_completion_tokens: 0,
            }),
          ].join('\n'),
          {},
          rules,
        ),
      ),
    ).toEqual([
      {
        line: 2,
        field: 'url',
        message: 'every line must target the same endpoint (line 1 targets /v1/completions)',
      },
      {
        line: 3,
        field: 'url',
        message: 'every line must target the same endpoint (line 1 targets /v1/completions)',
      },
      {
        line: 3,
        field: 'body.max_completion_tokens',
        message: 'Too small: expected number to be >=1',
      },
      { line: 3, field: 'body.tools', message: 'is not supported by this service' },
      { line: 3, field: 'body.messages', message: 'must hold at least 1 message' },
    ]);
    expect(
      problems(() =>
        parseJsonlSubmission(line('a', { prompt: 'x' }), {}, rules, '/v1/chat/completions'),
      ),
    ).toEqual([
      {
        line: 1,
        field: 'url',
        message: 'must be "/v1/chat/completions", the batch\'s endpoint (got "/v1/completions")',
      },
    ]);
  });

  it('names max_tokens, not gen_length, when the whole parameter set is wrong', () => {
    expect(
      problems(() =>
        parseJsonlSubmission(line('a', { prompt: 'x', max_tokens: 4, block_length: 8 }), {}, rules),
      ),
    ).toEqual([{ line: 1, field: 'body.block_length', message: 'must be <= gen_length (4)' }]);
    expect(
      problems(() => parseJsonlSubmission(line('a', { prompt: 'x', max_tokens: 300 }), {}, rules)),
    ).toEqual([
      { line: 1, field: 'body.max_tokens', message: "must be <= the model's max length 256" },
    ]);
  });

  it('checks batch options and webhook URLs against the deployment', () => {
    expect(
      problems(() =>
        parseJsonlSubmission(
          line('a', { prompt: 'x' }),
          { webhook_url: 'https://evil.example.net/', metadata: { ['k'.repeat(65)]: 'v' } },
          rules,
        ),
      ),
    ).toEqual([
      { field: `metadata.${'k'.repeat(65)}`, message: 'keys are 1 to 64 characters' },
      {
        field: 'webhook_url',
        message:
          'is not allowed here; webhook URLs must start with one of: https://hooks.example.com/dllm/',
      },
    ]);
    expect(
      parseJsonlSubmission(
        line('a', { prompt: 'x' }),
        { webhook_url: 'https://hooks.example.com/dllm/done' },
        rules,
      ).webhookUrl,
    ).toBe('https://hooks.example.com/dllm/done');
  });
});

describe('parseJsonlSubmission: native item lines (the dllm generate format)', () => {
  const native = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');

  it('accepts examples/prompts.jsonl as it is: prompts, infills, top-level parameters', () => {
    const text = readFileSync(join(__dirname, '../../../../../examples/prompts.jsonl'), 'utf8');
    const s = parseJsonlSubmission(
      text,
      { metadata: { project: 'demo' } },
      { ...rules, maxItems: 100 },
    );
    expect(s.endpoint).toBeNull();
    expect(s.metadata).toEqual({ project: 'demo' });
    expect(s.items).toHaveLength(text.trim().split('\n').length);
    expect(s.items[0]).toMatchObject({ customId: 'cont-0', task: { prompt: 'def fibonacci(n):' } });
    expect(s.items.some((i) => 'prefix' in i.task)).toBe(true);
  });

  it('folds top-level parameters into params (they win) and fills every default', () => {
    const s = parseJsonlSubmission(
      native([
        { custom_id: 'a', prompt: 'def f():', gen_length: 8, params: { gen_length: 4, seed: 3 } },
        { custom_id: 'b', prefix: 'x = ', suffix: '\n', policy: 'fixed' },
      ]),
      { completion_window: '3600' },
      rules,
    );
    expect(s.completionWindow).toBe(3600);
    expect(s.items[0]!.params).toMatchObject({ gen_length: 8, seed: 3, threshold: 0.9 });
    expect(s.items[1]).toMatchObject({ task: { prefix: 'x = ', suffix: '\n' } });
    expect(s.items[1]!.params.policy).toBe('fixed');
  });

  it('refuses a line nested past the JSON depth limit by its line, like the OpenAI format', () => {
    const deep = `{"custom_id":"b","prompt":"x","params":${'['.repeat(rules.maxJsonDepth + 1)}${']'.repeat(rules.maxJsonDepth + 1)}}`;
    const text = `${native([{ custom_id: 'a', prompt: 'x' }])}\n${deep}`;
    expect(problems(() => parseJsonlSubmission(text, {}, rules))).toEqual([
      { line: 2, field: '(line)', message: expect.stringMatching(/nest/) as string },
    ]);
  });

  it('names the line and the field as written; refuses a line in the other format', () => {
    expect(
      problems(() =>
        parseJsonlSubmission(
          native([
            { custom_id: 'a', prompt: 'x', gen_length: 'long' },
            { custom_id: 'b', prompt: 'x', params: { threshold: 7 } },
            { custom_id: 'c', prompt: 'x', colour: 'red' },
            { custom_id: 'a', prompt: 'y' },
            { custom_id: 'd', method: 'POST', url: '/v1/completions', body: { prompt: 'x' } },
            { custom_id: 'e', prefix: 'x' },
          ]),
          {},
          rules,
        ),
      ),
    ).toEqual([
      { line: 1, field: 'gen_length', message: expect.any(String) as string },
      { line: 2, field: 'params.threshold', message: expect.any(String) as string },
      { line: 3, field: 'colour', message: expect.stringMatching(/unknown field/) as string },
      { line: 4, field: 'custom_id', message: 'duplicate custom_id "a" (first used at line 1)' },
      {
        line: 5,
        field: 'method',
        message: expect.stringMatching(/^mixes formats: line 1/) as string,
      },
      { line: 6, field: 'suffix', message: 'is required with prefix (infill)' },
    ]);
  });

  it('a batch from an input file refuses native lines, saying what it expects and how to convert', () => {
    const [problem] = problems(() =>
      parseJsonlSubmission(native([{ custom_id: 'a', prompt: 'x' }]), {}, rules, '/v1/completions'),
    );
    expect(problem).toMatchObject({ line: 1, field: '(line)' });
    expect(problem!.message).toMatch(/native item/);
    expect(problem!.message).toMatch(/method: "POST"/);
    expect(problem!.message).toMatch(/POST \/v1\/batches as application\/x-ndjson/);
  });
});
