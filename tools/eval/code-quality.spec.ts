import { fileWithSpan, repeatedNgrams } from './code-quality';
import { PythonParser } from './python-parser';

describe('repeatedNgrams (degeneration)', () => {
  it('counts 4-grams that already occurred in the span', () => {
    expect(repeatedNgrams([1, 2, 3, 4, 5, 6])).toEqual({ repeated: 0, total: 3 });
    // "1 2 3 4" three times: windows 0..8, the second and third copies and the shifted ones repeat
    expect(repeatedNgrams([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4])).toEqual({ repeated: 5, total: 9 });
  });

  it('has no 4-grams in a span shorter than 4', () => {
    expect(repeatedNgrams([1, 2, 3])).toEqual({ repeated: 0, total: 0 });
  });
});

describe('PythonParser (ast.parse in Debian python3)', () => {
  const parser = PythonParser.start();
  afterAll(() => parser.close());

  it('accepts a file whose span is filled with valid code, refuses a broken one', async () => {
    const file = { before: 'def add(a, b):\n    return ', after: '\n\nprint(add(1, 2))\n' };
    expect(await parser.parses(fileWithSpan(file, 'a + b'))).toBe(true);
    expect(await parser.parses(fileWithSpan(file, 'a + (b'))).toBe(false);
    expect(await parser.parses(fileWithSpan(file, 'a +\0 b'))).toBe(false);
  });

  it('answers many concurrent requests in order of their own ids', async () => {
    const sources = Array.from({ length: 50 }, (_, i) => (i % 2 ? `x = ${i}\n` : `x = (${i}\n`));
    const answers = await Promise.all(sources.map((s) => parser.parses(s)));
    expect(answers).toEqual(sources.map((_, i) => i % 2 === 1));
  });

  it('says clearly when python3 cannot be run', async () => {
    const missing = PythonParser.start('/nonexistent/python3');
    await expect(missing.parses('x = 1')).rejects.toThrow(
      /parse check: \/nonexistent\/python3 cannot run/,
    );
  });
});
