import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatTemplate, ChatTemplateError } from './chat-template';

/** The real templates, from the checkpoints' own tokenizer_config.json (tools/import/fixtures/hf). */
const FIXTURES = join(__dirname, '../../../../tools/import/fixtures/hf');
const templateOf = (checkpoint: string): string =>
  (
    JSON.parse(readFileSync(join(FIXTURES, checkpoint, 'tokenizer_config.json'), 'utf8')) as {
      chat_template: string;
    }
  ).chat_template;

describe('ChatTemplate (a model’s own Jinja chat template, golden strings)', () => {
  it('renders LLaDA-8B-Instruct’s template: bos first, trimmed turns, the assistant header last', () => {
    const llada = new ChatTemplate(templateOf('GSAI-ML__LLaDA-8B-Instruct'), {
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
    });
    expect(
      llada.render([
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: '  What is 2 + 2?\n' },
      ]),
    ).toBe(
      '<|startoftext|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('renders Qwen2.5’s ChatML template, with its default system turn when none is given', () => {
    const qwen = new ChatTemplate(templateOf('Qwen__Qwen2.5-Coder-0.5B-Instruct'), {
      eos_token: '<|im_end|>',
    });
    expect(
      qwen.render([
        { role: 'user', content: 'Write fib.' },
        { role: 'assistant', content: 'def fib(n): ...' },
        { role: 'user', content: 'Shorter.' },
      ]),
    ).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nWrite fib.<|im_end|>\n' +
        '<|im_start|>assistant\ndef fib(n): ...<|im_end|>\n' +
        '<|im_start|>user\nShorter.<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
    expect(
      qwen.render([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ]),
    ).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('reports a conversation the template refuses (raise_exception) as a ChatTemplateError', () => {
    const strict = new ChatTemplate(
      "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with a user turn') }}{% endif %}{{ messages[0]['content'] }}",
      {},
    );
    expect(() => strict.render([{ role: 'assistant', content: 'x' }])).toThrow(ChatTemplateError);
    expect(() => strict.render([{ role: 'assistant', content: 'x' }])).toThrow(
      /must start with a user turn/,
    );
  });

  it('refuses, at load, a template it cannot parse, naming where it came from', () => {
    expect(() => new ChatTemplate('{% for %}', {}, 'models/x/chat_template.jinja')).toThrow(
      /^models\/x\/chat_template.jinja: not a template/,
    );
  });
});
