import { parseGenerationParams } from '../params';
import type { ForwardBatch, ForwardResult } from '../runtime/forward-pass';
import { FakeForward, fakeBundle } from '../testing/fake-forward';
import { RowForwardError } from './isolate-forward';
import { Scheduler } from './scheduler';

const bundle = fakeBundle();
const A = bundle.tokenizer.encode('a')[0]!;
const POISON = bundle.tokenizer.encode('zz')[0]!;

/** A runtime that fails any forward holding the token of "zz" (think: a kernel bug on one input). */
class PoisonedForward extends FakeForward {
  constructor(private readonly broken = false) {
    super(() => ({ ids: [A], probs: [0.5] }));
  }

  override run(b: ForwardBatch): Promise<ForwardResult> {
    if (this.broken || b.ids.some((id) => Number(id) === POISON))
      return Promise.reject(new Error('kernel failed'));
    return super.run(b);
  }
}

const params = parseGenerationParams({ policy: 'fixed', gen_length: 4 });

describe('a failed forward (poison isolation in the scheduler)', () => {
  it('fails only the row that fails alone; its neighbours finish with the outputs they would have had', async () => {
    const forward = new PoisonedForward();
    const scheduler = new Scheduler(forward, bundle, { maxRows: 8, maxTokens: 4096 });
    const results = await Promise.allSettled([
      scheduler.submit('a', { task: { prompt: 'x' }, params }),
      scheduler.submit('p', { task: { prompt: 'zz' }, params }),
      scheduler.submit('b', { task: { prompt: 'y' }, params }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const poisoned = (results[1] as PromiseRejectedResult).reason as Error;
    expect(poisoned).toBeInstanceOf(RowForwardError);
    expect(poisoned.message).toMatch(/forward failed for this row alone: kernel failed/);
    for (const r of [results[0], results[2]])
      expect((r as PromiseFulfilledResult<{ text: string; steps: number }>).value).toMatchObject({
        text: 'aaaa',
        steps: 4,
      });
    // (FakeForward records the forwards that ran) the failed batched forward was followed by one
    // forward per row (the poison's failed again), then the two others were batched again
    expect(forward.calls.map((c) => c.rows)).toEqual([1, 1, 2, 2, 2]);
  });

  it('when every row fails alone too, the runtime is at fault: all rows fail with its error (retryable)', async () => {
    const scheduler = new Scheduler(new PoisonedForward(true), bundle, {
      maxRows: 8,
      maxTokens: 4096,
    });
    const results = await Promise.allSettled([
      scheduler.submit('a', { task: { prompt: 'x' }, params }),
      scheduler.submit('b', { task: { prompt: 'y' }, params }),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason as Error;
      expect(error).not.toBeInstanceOf(RowForwardError);
      expect(error.message).toBe('kernel failed');
    }
  });
});
