import { buildSubmitRequest } from './submit-file';

describe('buildSubmitRequest: the three file formats', () => {
  it('sends a native JSON body as it is, command-line options winning', () => {
    const text = JSON.stringify({
      params: { gen_length: 8 },
      metadata: { a: '1' },
      items: [{ custom_id: 'x', prompt: 'p' }],
    });
    const r = buildSubmitRequest(text, {
      model: 'm',
      completionWindow: '3600',
      metadata: { b: '2' },
    });
    expect(r).toMatchObject({ format: 'json', contentType: 'application/json', items: 1 });
    expect(JSON.parse(r.body)).toEqual({
      params: { gen_length: 8 },
      metadata: { a: '1', b: '2' },
      model: 'm',
      completion_window: 3600,
      items: [{ custom_id: 'x', prompt: 'p' }],
    });
  });

  it('gathers native JSONL lines into items, parameters by name into params, and remembers their lines', () => {
    const text = [
      '{"custom_id":"a","prompt":"def f():","gen_length":8,"policy":"fixed"}',
      '',
      '{"custom_id":"b","prefix":"x = [","suffix":"]","params":{"seed":3},"seed":4}',
      '{"custom_id":"c","prompt":"y","colour":"red"}',
    ].join('\n');
    const r = buildSubmitRequest(text, { completionWindow: '2h' });
    expect(r).toMatchObject({ format: 'jsonl', items: 3, lineOfIndex: [1, 3, 4] });
    expect(JSON.parse(r.body)).toEqual({
      completion_window: '2h',
      items: [
        { custom_id: 'a', prompt: 'def f():', params: { gen_length: 8, policy: 'fixed' } },
        { custom_id: 'b', prefix: 'x = [', suffix: ']', params: { seed: 4 } },
        { custom_id: 'c', prompt: 'y', colour: 'red' },
      ],
    });
  });

  it('sends OpenAI batch JSONL untouched, batch options in the query', () => {
    const line = (id: string) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/completions',
        body: { model: 'dllm-code-small', prompt: 'x' },
      });
    const text = `${line('1')}\n${line('2')}\n`;
    const r = buildSubmitRequest(text, { completionWindow: '24h', metadata: { run: 'n' } });
    expect(r).toMatchObject({
      format: 'openai',
      contentType: 'application/x-ndjson',
      body: text,
      items: 2,
    });
    expect(r.format === 'openai' && r.query.toString()).toBe(
      'completion_window=24h&metadata%5Brun%5D=n',
    );
  });

  it.each([
    ['', /empty/],
    ['[{"custom_id":"a"}]', /JSON array is not a batch/],
    ['{"custom_id":"a","prompt":"x"}\nnot json\n[1]', /2 line\(s\) cannot be read/],
    [
      '{"custom_id":"a","prompt":"x"}\n{"custom_id":"b","method":"POST","url":"/v1/completions","body":{}}',
      /line 2: mixes formats/,
    ],
  ])('refuses %j with a usage error (exit 2)', (text, message) => {
    expect(() => buildSubmitRequest(text, {})).toThrow(message);
    try {
      buildSubmitRequest(text, {});
    } catch (e) {
      expect(e).toMatchObject({ exitCode: 2 });
    }
  });

  it('lists every unreadable line by number', () => {
    try {
      buildSubmitRequest('{"custom_id":"a","prompt":"x"}\n{oops\n"str"', {});
      throw new Error('expected a CliError');
    } catch (e) {
      expect((e as { detailLines: string[] }).detailLines).toEqual([
        expect.stringMatching(/^line 2: not valid JSON/),
        'line 3: must be a JSON object',
      ]);
    }
  });

  it("takes native lines' model as the batch's; lines (or --model) that disagree are refused", () => {
    const text = [
      '{"custom_id":"a","prompt":"x"}',
      '{"custom_id":"b","prompt":"y","model":"tiny"}',
    ].join('\n');
    const r = buildSubmitRequest(text, {});
    expect(JSON.parse(r.body)).toEqual({
      model: 'tiny',
      items: [
        { custom_id: 'a', prompt: 'x' },
        { custom_id: 'b', prompt: 'y' },
      ],
    });
    expect(JSON.parse(buildSubmitRequest(text, { model: 'tiny' }).body)).toMatchObject({
      model: 'tiny',
    });
    expect(() => buildSubmitRequest(text, { model: 'other' })).toThrow(
      'line 2: names model "tiny", but --model is other',
    );
    expect(() =>
      buildSubmitRequest(`${text}\n{"custom_id":"c","prompt":"z","model":"big"}`, {}),
    ).toThrow('line 3: every line must name the same model (line 2 names "tiny")');
  });

  it('refuses --model for OpenAI lines, which name their own', () => {
    const text = JSON.stringify({
      custom_id: 'a',
      method: 'POST',
      url: '/v1/completions',
      body: {},
    });
    expect(() => buildSubmitRequest(text, { model: 'x' })).toThrow(
      /--model applies to native files/,
    );
  });
});
