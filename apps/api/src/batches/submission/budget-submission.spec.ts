import { parseJsonSubmission } from './json-submission';
import { parseJsonlSubmission } from './jsonl-submission';
import { problems, submissionRules } from './submission-fixtures';

const rules = submissionRules({ defaultCompletionWindow: 3600 });

describe('submission: budget, deadline, quality_floor', () => {
  it('stores a relative deadline as the absolute time it names; item params override the batch', () => {
    const before = Date.now();
    const s = parseJsonSubmission(
      {
        params: { budget: 'auto', deadline: '10m', quality_floor: 0.5 },
        items: [
          { custom_id: 'a', prompt: 'x' },
          { custom_id: 'b', prompt: 'y', params: { budget: 'fixed', deadline: '90s' } },
        ],
      },
      rules,
    );
    const [a, b] = s.items;
    expect(a!.params).toMatchObject({ budget: 'auto', quality_floor: 0.5, policy: 'threshold' });
    const at = Date.parse(a!.params.deadline!);
    expect(at).toBeGreaterThanOrEqual(before + 600_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(b!.params.budget).toBe('fixed');
    expect(Date.parse(b!.params.deadline!) - at).toBeLessThan(0);
    expect(JSON.parse(a!.paramsJson)).toMatchObject({ deadline: a!.params.deadline });
  });

  it('refuses a deadline past the completion window, naming item and field', () => {
    const details = problems(() =>
      parseJsonSubmission(
        {
          completion_window: '1h',
          items: [
            { custom_id: 'a', prompt: 'x' },
            { custom_id: 'b', prompt: 'y', params: { deadline: '2h' } },
          ],
        },
        rules,
      ),
    );
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({ index: 1, field: 'params.deadline' });
    expect(details[0]!.message).toContain("after the batch's completion window (3600 s");
  });

  it('refuses a deadline in the past and auto with another policy', () => {
    const details = problems(() =>
      parseJsonSubmission(
        {
          items: [
            { custom_id: 'a', prompt: 'x', params: { deadline: '2020-01-01T00:00:00Z' } },
            { custom_id: 'b', prompt: 'y', params: { budget: 'auto', policy: 'fixed' } },
          ],
        },
        rules,
      ),
    );
    expect(details.map((d) => [d.index, d.field])).toEqual([
      [0, 'params.deadline'],
      [1, 'params.policy'],
    ]);
    expect(details[0]!.message).toContain('is in the past');
  });

  it('takes the same fields in an OpenAI batch line body, and checks them against its window', () => {
    const ok = JSON.stringify({
      custom_id: 'a',
      method: 'POST',
      url: '/v1/completions',
      body: { prompt: 'x', budget: 'auto', deadline: '5m' },
    });
    const late = JSON.stringify({
      custom_id: 'b',
      method: 'POST',
      url: '/v1/completions',
      body: { prompt: 'y', deadline: '2h' },
    });
    expect(parseJsonlSubmission(ok, {}, rules).items[0]!.params.budget).toBe('auto');
    const details = problems(() =>
      parseJsonlSubmission(`${ok}\n${late}`, { completion_window: '1h' }, rules),
    );
    expect(details).toEqual([expect.objectContaining({ line: 2, field: 'body.deadline' })]);
  });
});
