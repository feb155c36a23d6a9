/** A chat message as OpenAI's chat completions take it (text content only). */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | { type: 'text'; text: string }[];
  name?: string;
}

/** The name the README documents this template under. */
export const CHAT_TEMPLATE_NAME = 'python-file';

/**
 * The chat template of the bundled code model (dllm-code-small was trained on Python source
 * files only, with no chat data): a conversation becomes the start of a Python file, which the
 * model continues.
 *
 * - `system` and `developer` messages become `# ` comment lines: instructions, never code;
 * - `user` and `assistant` messages are taken as they are (code, a comment or a docstring);
 * - every message ends with a newline, and the model writes what follows the last one.
 *
 * [{system: "Answer in Python."}, {user: "def fib(n):"}] -> "# Answer in Python.\ndef fib(n):\n"
 */
export function renderChat(messages: readonly ChatMessage[]): string {
  let prompt = '';
  for (const message of messages) {
    const text =
      typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => part.text).join('');
    const lines =
      message.role === 'system' || message.role === 'developer'
        ? text
            .split('\n')
            .map((line) => (line ? `# ${line}` : '#'))
            .join('\n')
        : text;
    prompt += lines.endsWith('\n') ? lines : `${lines}\n`;
  }
  return prompt;
}
