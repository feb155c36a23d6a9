import { renderChat } from './chat-template';

describe('renderChat (the chat template of the bundled code model)', () => {
  it('turns instructions into comments and takes code as it is, one message per line', () => {
    expect(
      renderChat([
        { role: 'system', content: 'Write Python.\nBe brief.' },
        { role: 'user', content: 'def fib(n):' },
      ]),
    ).toBe('# Write Python.\n# Be brief.\ndef fib(n):\n');
  });

  it('keeps earlier turns, text parts and blank lines', () => {
    expect(
      renderChat([
        { role: 'developer', content: 'a\n\nb' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x = ' },
            { type: 'text', text: '1' },
          ],
        },
        { role: 'assistant', content: 'y = 2\n' },
        { role: 'user', content: 'z = ' },
      ]),
    ).toBe('# a\n#\n# b\nx = 1\ny = 2\nz = \n');
  });
});
