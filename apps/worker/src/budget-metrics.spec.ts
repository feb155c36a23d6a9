import pino from 'pino';
import { parseGenerationParams, type GenerationResult } from '@dllm/engine';
import { BudgetLoop, NO_WAITING_WORK } from '@dllm/engine/budget';
import { WorkerMetrics } from './metrics';

const result = (over: Partial<GenerationResult>): GenerationResult => ({
  text: '',
  finish_reason: 'length',
  steps: 32,
  tokens: 32,
  prompt_tokens: 1,
  queue_ms: 0,
  compute_ms: 0,
  seed: 1,
  budget: 'auto',
  applied_threshold: 0.9,
  applied_max_steps: 32,
  ...over,
});

// The budget loop lives in the engine library; the worker hands it its prom-client metrics.
describe('BudgetLoop with the worker metrics', () => {
  it('counts misses and tightened rows as they end, per budget', async () => {
    const now = 1_000_000;
    const metrics = new WorkerMetrics();
    const loop = new BudgetLoop({
      engine: {
        stats: () => Promise.resolve({ rowsInForwards: 0, active: 4 }),
        setAutoThreshold: () => undefined,
      },
      waiting: () => Promise.resolve(NO_WAITING_WORK),
      model: 'm',
      log: pino({ level: 'silent' }),
      metrics,
      intervalMs: 1000,
      relaxMargin: 0.2,
      planMargin: 0.1,
      relaxHoldMs: 5000,
      now: () => now,
    });
    loop.hold(
      'b:0',
      parseGenerationParams({ budget: 'auto', deadline: new Date(now + 1000).toISOString() }),
      now,
    );
    loop.hold('b:1', parseGenerationParams({ deadline: new Date(now + 1000).toISOString() }), now);
    loop.rowEnded('b:0', result({ applied_threshold: 0.5 }), now + 500);
    loop.rowEnded('b:1', result({ budget: 'fixed' }), now + 2000);
    const text = await metrics.registry.metrics();
    expect(text).toContain('dllm_budget_rows_tightened_total 1');
    expect(text).toContain('dllm_budget_deadline_misses_total{budget="fixed"} 1');
    expect(text).not.toContain('dllm_budget_deadline_misses_total{budget="auto"}');
  });
});
