import { ParamsError, parseGenerationParams } from '../params';
import { parseDeadline } from './deadline';

const T0 = Date.parse('2026-05-01T12:00:00Z');

describe('parseDeadline', () => {
  it('counts a duration from submission', () => {
    expect(parseDeadline('90s', T0)).toBe(T0 + 90_000);
    expect(parseDeadline('10m', T0)).toBe(T0 + 600_000);
    expect(parseDeadline('1.5h', T0)).toBe(T0 + 5_400_000);
    expect(parseDeadline('500ms', T0)).toBe(T0 + 500);
    expect(parseDeadline(' 2d ', T0)).toBe(T0 + 2 * 86_400_000);
  });

  it('takes an absolute ISO time with an offset, whatever the submission time', () => {
    expect(parseDeadline('2026-05-01T12:05:00Z', 0)).toBe(T0 + 300_000);
    expect(parseDeadline('2026-05-01T14:05:00+02:00', 0)).toBe(T0 + 300_000);
  });

  it('refuses what names no instant', () => {
    for (const bad of ['10', 'soon', '10 minutes', '-5m', '2026-05-01T12:05:00', '2026-05-01', ''])
      expect(parseDeadline(bad, T0)).toBeNull();
  });
});

describe('budget parameters', () => {
  const issues = (input: object) => {
    try {
      parseGenerationParams(input);
      return [];
    } catch (err) {
      return (err as ParamsError).issues;
    }
  };

  it('defaults to the fixed budget with no deadline', () => {
    const p = parseGenerationParams({});
    expect(p.budget).toBe('fixed');
    expect(p.deadline).toBeUndefined();
    expect(p.quality_floor).toBeUndefined();
  });

  it('accepts auto with a deadline and a floor', () => {
    expect(
      parseGenerationParams({ budget: 'auto', deadline: '10m', quality_floor: 0.5 }),
    ).toMatchObject({
      budget: 'auto',
      deadline: '10m',
      quality_floor: 0.5,
    });
  });

  it('refuses auto with another policy, at the policy field', () => {
    const [issue, ...more] = issues({ budget: 'auto', policy: 'entropy' });
    expect(more).toEqual([]);
    expect(issue!.field).toBe('params.policy');
    expect(issue!.message).toContain('budget "auto" runs the threshold policy');
  });

  it('refuses a floor outside the controller levels, or above the threshold', () => {
    expect(issues({ budget: 'auto', quality_floor: 0.95 })[0]!.field).toBe('params.quality_floor');
    expect(issues({ budget: 'auto', quality_floor: 0.1 })[0]!.field).toBe('params.quality_floor');
    expect(issues({ budget: 'auto', threshold: 0.6, quality_floor: 0.7 })).toEqual([
      {
        field: 'params.quality_floor',
        message: 'must be <= threshold (0.6), the gentlest setting budget "auto" starts from',
      },
    ]);
  });

  it('refuses a deadline that is neither a time nor a duration, saying what is allowed', () => {
    const [issue] = issues({ deadline: 'tomorrow' });
    expect(issue!.field).toBe('params.deadline');
    expect(issue!.message).toContain('a duration from submission ("90s", "10m", "2h")');
  });
});
