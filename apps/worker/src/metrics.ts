import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineInfo } from '@dllm/engine';

/** The worker's Prometheus metrics, on their own registry (served on the health port). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly items = new Counter({
    name: 'dllm_worker_items_total',
    help: 'Items ended by this worker, by status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'dllm_worker_generated_tokens_total',
    help: 'Tokens generated',
    registers: [this.registry],
  });
  readonly chunkSeconds = new Histogram({
    name: 'dllm_worker_chunk_seconds',
    help: 'Wall time of one chunk job',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly activeRows = new Gauge({
    name: 'dllm_engine_active_rows',
    help: 'Rows in the engine batch',
    registers: [this.registry],
  });
  readonly waitingRows = new Gauge({
    name: 'dllm_engine_waiting_rows',
    help: 'Rows waiting for an engine slot',
    registers: [this.registry],
  });
  readonly steps = new Gauge({
    name: 'dllm_engine_steps',
    help: 'Denoising steps (forwards) run',
    registers: [this.registry],
  });
  readonly forwardSeconds = new Gauge({
    name: 'dllm_engine_forward_seconds',
    help: 'Time spent in forwards',
    registers: [this.registry],
  });
  // the call mix: small refresh/step calls cost more per token than full ones (issue 17)
  readonly graphCalls = new Gauge({
    name: 'dllm_engine_graph_calls',
    help: 'Forward calls run, by graph (full, refresh, step, prefill, extend)',
    labelNames: ['graph'],
    registers: [this.registry],
  });
  readonly graphRows = new Gauge({
    name: 'dllm_engine_graph_rows',
    help: 'Rows those calls carried, by graph: rows / calls is the mean rows per call',
    labelNames: ['graph'],
    registers: [this.registry],
  });
  readonly stepSeconds = new Gauge({
    name: 'dllm_engine_step_seconds',
    help: 'Time spent in steps (forward + sampling + bookkeeping)',
    registers: [this.registry],
  });

  readonly engineInfo = new Gauge({
    name: 'dllm_engine_info',
    help: 'Always 1; labels say which execution provider runs the engine and which were requested',
    labelNames: ['model', 'provider', 'requested'],
    registers: [this.registry],
  });
  readonly gpuFallback = new Gauge({
    name: 'dllm_engine_gpu_fallback',
    help: '1 when a GPU execution provider was requested and the engine runs on the cpu',
    registers: [this.registry],
  });
  readonly batchLimitRows = new Gauge({
    name: 'dllm_engine_max_batch_rows',
    help: 'Most rows in one forward',
    registers: [this.registry],
  });
  readonly engineUp = new Gauge({
    name: 'dllm_engine_up',
    help: '1 while the engine thread is ready, 0 while it restarts or after it failed',
    registers: [this.registry],
  });
  readonly engineRestarts = new Counter({
    name: 'dllm_engine_thread_restarts_total',
    help: 'Engine thread deaths answered with a restart',
    registers: [this.registry],
  });
  readonly isolatedRuns = new Counter({
    name: 'dllm_worker_isolated_runs_total',
    help: 'Suspect items run alone after a crash (poison isolation)',
    registers: [this.registry],
  });
  readonly unstorableResults = new Counter({
    name: 'dllm_worker_unstorable_results_total',
    help: 'Results Postgres refused even alone, stored as failed',
    registers: [this.registry],
  });
  readonly repairActions = new Counter({
    name: 'dllm_repair_actions_total',
    help: 'Repair loop actions taken while this worker led it',
    labelNames: ['action'],
    registers: [this.registry],
  });

  // budget controller (budget "auto" rows); see README "Step budgets under load"
  readonly autoThreshold = new Gauge({
    name: 'dllm_budget_auto_threshold',
    help: 'Threshold the budget controller gives budget "auto" rows as they start',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly budgetDecisions = new Counter({
    name: 'dllm_budget_decisions_total',
    help: 'Changes of the auto threshold, by reason (tighten, relax, saturated, idle)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly rowsTightened = new Counter({
    name: 'dllm_budget_rows_tightened_total',
    help: 'budget "auto" rows that ran below their own threshold (counted as they end)',
    registers: [this.registry],
  });
  readonly predictedFinish = new Gauge({
    name: 'dllm_budget_predicted_finish_timestamp_seconds',
    help: 'When the controller predicts the work this worker holds and sees queued to finish (unix seconds)',
    registers: [this.registry],
  });
  readonly finishError = new Histogram({
    name: 'dllm_budget_finish_error_seconds',
    help: 'Actual minus predicted finish of the held work, observed each time it drains (positive: later than predicted)',
    buckets: [-60, -20, -5, -1, 0, 1, 5, 20, 60],
    registers: [this.registry],
  });
  readonly deadlineSlack = new Histogram({
    name: 'dllm_budget_deadline_slack_seconds',
    help: 'Deadline minus completion time of items with a deadline (negative: missed), by budget',
    labelNames: ['budget'],
    buckets: [-60, -10, -1, 0, 1, 10, 60, 300, 3600],
    registers: [this.registry],
  });
  readonly deadlineMisses = new Counter({
    name: 'dllm_budget_deadline_misses_total',
    help: 'Items that completed after their deadline, by budget',
    labelNames: ['budget'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'dllm_worker_' });
  }

  describeEngine(info: EngineInfo): void {
    this.engineInfo.set(
      { model: info.model, provider: info.provider, requested: info.requestedProviders.join(',') },
      1,
    );
    this.gpuFallback.set(info.fellBack ? 1 : 0);
    this.batchLimitRows.set(info.maxBatchRows);
  }
}
