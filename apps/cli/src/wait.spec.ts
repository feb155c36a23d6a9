import { Format } from 'cli-progress';
import { PROGRESS_FORMAT } from './wait';

describe('the wait progress bar', () => {
  it('renders every token of its format (no literal {name} on screen)', () => {
    const line = Format.Formatter(
      {
        format: PROGRESS_FORMAT,
        barsize: 10,
        barCompleteString: '#',
        barIncompleteString: '-',
        autopaddingChar: '',
      },
      {
        progress: 0.5,
        eta: 3,
        startTime: Date.now() - 65_000,
        stopTime: null,
        total: 10,
        value: 5,
        maxWidth: 200,
      },
      { failed: 0, tps: 12, status: 'in_progress' },
    );
    expect(line).not.toMatch(/\{\w+\}/);
    expect(line).toContain('1m5s');
  });
});
