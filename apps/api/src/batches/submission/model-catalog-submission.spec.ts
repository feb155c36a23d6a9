import { ChatTemplate, ChatTemplateError } from '@dllm/engine/chat';
import { renderChat } from './chat-template';
import { parseJsonSubmission } from './json-submission';
import { parseJsonlSubmission } from './jsonl-submission';
import type { SubmissionModel } from './submission';
import { bundledBudget, bundledModel, problems, submissionRules } from './submission-fixtures';

const chatml = new ChatTemplate(
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  {},
);
const bundled = bundledModel();
/** An imported model: its own defaults, a block-causal topology and a chat template. */
const imported: SubmissionModel = {
  name: 'tiny-sdar',
  aliases: ['sdar-folder'],
  maxLength: 256,
  needsPrompt: false,
  budget: bundledBudget,
  defaults: { gen_length: 64, block_length: 4, policy: 'threshold', threshold: 0.85 },
  shape: { kind: 'masked-diffusion', attention: { type: 'block-causal', blockSize: 4 } },
  chat: (messages) => {
    if (messages[0]?.role !== 'user') throw new ChatTemplateError('the first turn must be user');
    return {
      prompt: chatml.render(messages.map((m) => ({ role: m.role, content: m.content as string }))),
      chat: true,
    };
  },
};
const rules = submissionRules({ models: [bundled, imported] });

const chatLine = (custom_id: string, body: Record<string, unknown>) =>
  JSON.stringify({ custom_id, method: 'POST', url: '/v1/chat/completions', body });

describe('submissions over a catalog of models', () => {
  it('picks the model by name or alias; none named is the default, an unknown one a 400', () => {
    const items = [{ custom_id: 'a', prompt: 'x' }];
    expect(parseJsonSubmission({ items }, rules).model).toBe('dllm-code-small');
    expect(parseJsonSubmission({ model: 'sdar-folder', items }, rules).model).toBe('tiny-sdar');
    expect(problems(() => parseJsonSubmission({ model: 'gpt-4', items }, rules))).toEqual([
      {
        field: 'model',
        message: 'model "gpt-4" is not served here; available: dllm-code-small, tiny-sdar',
      },
    ]);
  });

  it("fills what a request leaves out from its model's defaults, then the schema's", () => {
    const items = [
      { custom_id: 'a', prompt: 'x' },
      { custom_id: 'b', prompt: 'y', params: { gen_length: 8, threshold: 0.5 } },
    ];
    const onImported = parseJsonSubmission({ model: 'tiny-sdar', items }, rules).items;
    expect(onImported[0]!.params).toMatchObject({
      gen_length: 64,
      block_length: 4,
      policy: 'threshold',
      threshold: 0.85,
    });
    // the request's own values win
    expect(onImported[1]!.params).toMatchObject({ gen_length: 8, block_length: 4, threshold: 0.5 });
    const onBundled = parseJsonSubmission({ items }, rules).items;
    expect(onBundled[0]!.params.threshold).not.toBe(0.85);
  });

  it("refuses at submit what the model's topology cannot run (a block-causal model cannot infill)", () => {
    expect(
      problems(() =>
        parseJsonSubmission(
          { model: 'tiny-sdar', items: [{ custom_id: 'a', prefix: 'x', suffix: 'y' }] },
          rules,
        ),
      ),
    ).toEqual([
      {
        index: 0,
        field: 'prefix',
        message: expect.stringMatching(/^tiny-sdar: a block-causal model cannot infill/) as unknown,
      },
    ]);
  });

  it("renders chat lines with the batch model's template, marks them, and reports its refusals", () => {
    const text = [
      chatLine('a', { model: 'tiny-sdar', messages: [{ role: 'user', content: 'Hi' }] }),
      chatLine('b', { messages: [{ role: 'user', content: 'Yo' }] }),
    ].join('\n');
    const s = parseJsonlSubmission(text, {}, rules);
    expect(s.model).toBe('tiny-sdar');
    expect(s.items[1]!.task).toEqual({
      prompt: '<|im_start|>user\nYo<|im_end|>\n<|im_start|>assistant\n',
      chat: true,
    });
    expect(
      problems(() =>
        parseJsonlSubmission(
          chatLine('a', { model: 'tiny-sdar', messages: [{ role: 'assistant', content: 'x' }] }),
          {},
          rules,
        ),
      ),
    ).toEqual([{ line: 1, field: 'body.messages', message: 'the first turn must be user' }]);
    // the bundled model keeps its python-file rendering, unmarked
    const plain = parseJsonlSubmission(
      chatLine('a', { messages: [{ role: 'user', content: 'x = 1' }] }),
      {},
      rules,
    );
    expect(plain.items[0]!.task).toEqual({
      prompt: renderChat([{ role: 'user', content: 'x = 1' }]),
    });
  });
});
