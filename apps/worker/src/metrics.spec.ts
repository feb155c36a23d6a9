import type { EngineStats } from '@dllm/engine';
import { WorkerMetrics } from './metrics';

/** engine counters as stats() returns them, every figure scaled by `k` */
function stats(k: number): EngineStats {
  const graphs = { full: 0, refresh: 2 * k, step: 5 * k, prefill: 0, extend: 0 };
  return {
    active: k,
    waiting: 2 * k,
    steps: 10 * k,
    forwardMs: 1000 * k,
    stepMs: 1500 * k,
    forwards: graphs,
    rowsByGraph: { ...graphs, step: 20 * k },
  } as unknown as EngineStats;
}

describe('WorkerMetrics per model', () => {
  it('reports each model of a worker apart, never their sum', async () => {
    const metrics = new WorkerMetrics();
    const small = metrics.forModel('dllm-code-small');
    const tiny = metrics.forModel('tiny-dream');
    small.engineStats(stats(1));
    tiny.engineStats(stats(3));
    small.itemEnded('completed', 40);
    tiny.itemEnded('completed', 7);
    tiny.itemEnded('failed', null);
    small.chunkTook(2);
    small.engineUp(true);
    tiny.engineUp(false);
    const text = await metrics.registry.metrics();
    for (const [line, value] of [
      ['dllm_engine_active_rows{model="dllm-code-small"}', 1],
      ['dllm_engine_active_rows{model="tiny-dream"}', 3],
      ['dllm_engine_waiting_rows{model="tiny-dream"}', 6],
      ['dllm_engine_steps{model="tiny-dream"}', 30],
      ['dllm_engine_forward_seconds{model="tiny-dream"}', 3],
      ['dllm_engine_step_seconds{model="dllm-code-small"}', 1.5],
      ['dllm_engine_graph_calls{model="tiny-dream",graph="step"}', 15],
      ['dllm_engine_graph_rows{model="dllm-code-small",graph="step"}', 20],
      ['dllm_worker_items_total{model="dllm-code-small",status="completed"}', 1],
      ['dllm_worker_items_total{model="tiny-dream",status="failed"}', 1],
      ['dllm_worker_generated_tokens_total{model="dllm-code-small"}', 40],
      ['dllm_worker_generated_tokens_total{model="tiny-dream"}', 7],
      ['dllm_worker_chunk_seconds_count{model="dllm-code-small"}', 1],
      ['dllm_engine_up{model="dllm-code-small"}', 1],
      ['dllm_engine_up{model="tiny-dream"}', 0],
    ] as const) {
      expect(text).toContain(`\n${line} ${value}\n`);
    }
    // no figure of a lane goes out without its model
    expect(text).not.toMatch(/^dllm_engine_(active_rows|steps|up) /m);
    expect(text).not.toContain('dllm_worker_chunk_seconds_count{model="tiny-dream"}');
  });

  it('labels budget figures with the model and the deadline misses with their budget', async () => {
    const metrics = new WorkerMetrics();
    const m = metrics.forModel('m');
    m.budgetDecision('tighten', 0.5);
    m.deadlineSlack('auto', -2);
    m.deadlineSlack('fixed', 3);
    const text = await metrics.registry.metrics();
    expect(text).toContain('\ndllm_budget_auto_threshold{model="m"} 0.5\n');
    expect(text).toContain('\ndllm_budget_decisions_total{model="m",reason="tighten"} 1\n');
    expect(text).toContain('\ndllm_budget_deadline_misses_total{model="m",budget="auto"} 1\n');
    expect(text).not.toContain('dllm_budget_deadline_misses_total{model="m",budget="fixed"}');
  });
});
