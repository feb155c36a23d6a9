import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';

/** A chat message with its text already joined (OpenAI's text parts concatenated). */
export interface ChatTurn {
  role: string;
  content: string;
}

/** A conversation the template refuses (its raise_exception), or one it cannot render. */
export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChatTemplateError';
  }
}

/** The special-token texts a Hugging Face template may use (tokenizer_config.json's names). */
export interface TemplateTokens {
  bos_token?: string;
  eos_token?: string;
}

/**
 * A model's own chat template (the Jinja text of its chat_template.jinja), rendered with
 * `@huggingface/jinja` as transformers' apply_chat_template renders it.
 *
 * `add_generation_prompt` is always true: a chat completion asks for the assistant's next turn, so
 * the prompt ends where that turn's text begins. A template that ignores the flag (LLaDA-8B-Instruct
 * always ends with the assistant header) therefore renders the same prompt as one that obeys it.
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    source: string,
    private readonly tokens: TemplateTokens,
    /** where the text came from, for errors */
    private readonly where = 'chat template',
  ) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new Error(
        `${where}: not a template @huggingface/jinja can parse: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  static fromFile(path: string, tokens: TemplateTokens): ChatTemplate {
    return new ChatTemplate(readFileSync(path, 'utf8'), tokens, path);
  }

  render(messages: readonly ChatTurn[]): string {
    try {
      return this.template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: true,
        ...this.tokens,
      });
    } catch (err) {
      throw new ChatTemplateError(
        `the model's chat template refused the messages: ${(err as Error).message}`,
      );
    }
  }
}
