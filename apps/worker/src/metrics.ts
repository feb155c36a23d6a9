import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineInfo, EngineStats } from '@dllm/engine';

/** The worker's Prometheus metrics, on their own registry (served on the health port). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly items = new Counter({
    name: 'dllm_worker_items_total',
    help: 'Items ended by this worker, by status',
    labelNames: ['model', 'status'],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'dllm_worker_generated_tokens_total',
    help: 'Tokens generated',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly chunkSeconds = new Histogram({
    name: 'dllm_worker_chunk_seconds',
    help: 'Wall time of one chunk job',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly activeRows = new Gauge({
    name: 'dllm_engine_active_rows',
    help: 'Rows in the engine batch',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly waitingRows = new Gauge({
    name: 'dllm_engine_waiting_rows',
    help: 'Rows waiting for an engine slot',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly steps = new Gauge({
    name: 'dllm_engine_steps',
    help: 'Denoising steps (forwards) run',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly forwardSeconds = new Gauge({
    name: 'dllm_engine_forward_seconds',
    help: 'Time spent in forwards',
    labelNames: ['model'],
    registers: [this.registry],
  });
  // the call mix: small refresh/step calls cost more per token than full ones (issue 17)
  readonly graphCalls = new Gauge({
    name: 'dllm_engine_graph_calls',
    help: 'Forward calls run, by graph (full, refresh, step, prefill, extend)',
    labelNames: ['model', 'graph'],
    registers: [this.registry],
  });
  readonly graphRows = new Gauge({
    name: 'dllm_engine_graph_rows',
    help: 'Rows those calls carried, by graph: rows / calls is the mean rows per call',
    labelNames: ['model', 'graph'],
    registers: [this.registry],
  });
  readonly stepSeconds = new Gauge({
    name: 'dllm_engine_step_seconds',
    help: 'Time spent in steps (forward + sampling + bookkeeping)',
    labelNames: ['model'],
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
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly batchLimitRows = new Gauge({
    name: 'dllm_engine_max_batch_rows',
    help: 'Most rows in one forward',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly engineUp = new Gauge({
    name: 'dllm_engine_up',
    help: '1 while the engine thread is ready, 0 while it restarts or after it failed',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly engineRestarts = new Counter({
    name: 'dllm_engine_thread_restarts_total',
    help: 'Engine thread deaths answered with a restart',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly isolatedRuns = new Counter({
    name: 'dllm_worker_isolated_runs_total',
    help: 'Suspect items run alone after a crash (poison isolation)',
    labelNames: ['model'],
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
    labelNames: ['model', 'reason'],
    registers: [this.registry],
  });
  readonly rowsTightened = new Counter({
    name: 'dllm_budget_rows_tightened_total',
    help: 'budget "auto" rows that ran below their own threshold (counted as they end)',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly predictedFinish = new Gauge({
    name: 'dllm_budget_predicted_finish_timestamp_seconds',
    help: 'When the controller predicts the work this worker holds and sees queued to finish (unix seconds)',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly finishError = new Histogram({
    name: 'dllm_budget_finish_error_seconds',
    help: 'Actual minus predicted finish of the held work, observed each time it drains (positive: later than predicted)',
    buckets: [-60, -20, -5, -1, 0, 1, 5, 20, 60],
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly deadlineSlack = new Histogram({
    name: 'dllm_budget_deadline_slack_seconds',
    help: 'Deadline minus completion time of items with a deadline (negative: missed), by budget',
    labelNames: ['model', 'budget'],
    buckets: [-60, -10, -1, 0, 1, 10, 60, 300, 3600],
    registers: [this.registry],
  });
  readonly deadlineMisses = new Counter({
    name: 'dllm_budget_deadline_misses_total',
    help: 'Items that completed after their deadline, by budget',
    labelNames: ['model', 'budget'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'dllm_worker_' });
  }

  /** The metrics of one model's lane (see ModelMetrics). */
  forModel(model: string): ModelMetrics {
    return new ModelMetrics(this, model);
  }
}

/**
 * One model's view of the worker's metrics: whatever its lane records carries `model="<name>"`,
 * so a worker serving several models reports each apart (summing them is the scraper's choice).
 * Worker-wide figures (unstorable results, repair actions) stay on WorkerMetrics.
 */
export class ModelMetrics {
  private readonly label: { model: string };

  constructor(
    readonly all: WorkerMetrics,
    readonly model: string,
  ) {
    this.label = { model };
  }

  itemEnded(status: 'completed' | 'failed' | 'cancelled', tokens?: number | null): void {
    this.all.items.inc({ ...this.label, status });
    if (tokens) this.all.tokens.inc(this.label, tokens);
  }

  chunkTook(seconds: number): void {
    this.all.chunkSeconds.observe(this.label, seconds);
  }

  isolatedRun(): void {
    this.all.isolatedRuns.inc(this.label);
  }

  describeEngine(info: EngineInfo): void {
    this.all.engineInfo.set(
      { ...this.label, provider: info.provider, requested: info.requestedProviders.join(',') },
      1,
    );
    this.all.gpuFallback.set(this.label, info.fellBack ? 1 : 0);
    this.all.batchLimitRows.set(this.label, info.maxBatchRows);
  }

  engineUp(up: boolean): void {
    this.all.engineUp.set(this.label, up ? 1 : 0);
  }

  engineRestarted(): void {
    this.all.engineRestarts.inc(this.label);
  }

  /** The engine's own counters, as its last stats() call returned them. */
  engineStats(s: EngineStats): void {
    this.all.activeRows.set(this.label, s.active);
    this.all.waitingRows.set(this.label, s.waiting);
    this.all.steps.set(this.label, s.steps);
    this.all.forwardSeconds.set(this.label, s.forwardMs / 1000);
    this.all.stepSeconds.set(this.label, s.stepMs / 1000);
    for (const graph of Object.keys(s.forwards) as (keyof EngineStats['forwards'])[]) {
      this.all.graphCalls.set({ ...this.label, graph }, s.forwards[graph]);
      this.all.graphRows.set({ ...this.label, graph }, s.rowsByGraph[graph]);
    }
  }

  autoThreshold(threshold: number): void {
    this.all.autoThreshold.set(this.label, threshold);
  }

  budgetDecision(reason: string, threshold: number): void {
    this.autoThreshold(threshold);
    this.all.budgetDecisions.inc({ ...this.label, reason });
  }

  rowTightened(): void {
    this.all.rowsTightened.inc(this.label);
  }

  predictedFinish(atMs: number): void {
    this.all.predictedFinish.set(this.label, atMs / 1000);
  }

  finishError(seconds: number): void {
    this.all.finishError.observe(this.label, seconds);
  }

  /** An item with a deadline ended: its slack (negative: missed), by budget. */
  deadlineSlack(budget: string, seconds: number): void {
    this.all.deadlineSlack.observe({ ...this.label, budget }, seconds);
    if (seconds < 0) this.all.deadlineMisses.inc({ ...this.label, budget });
  }
}
