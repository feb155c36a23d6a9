/**
 * Worker process: consumes chunk jobs, runs their rows through the engine (in its own thread) and
 * writes results to Postgres; takes part in the repair loop's leader election. Exits non-zero
 * when it cannot start or its engine cannot be kept alive, so the orchestrator restarts it.
 */
import 'reflect-metadata';
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Engine } from '@dllm/engine';
import {
  BatchEventLog,
  BatchProgressRepository,
  createProcessLogger,
  dataSourceOptions,
  loadConfig,
  openChunkQueue,
  openConsumer,
  redisOptions,
  repairLoopFor,
  workerConcurrency,
  type ChunkJobData,
} from '@dllm/shared';
import { BudgetLoop } from './budget/budget-loop';
import { QueuePeek } from './budget/queue-peek';
import { CancelWatcher } from './cancel-watcher';
import { CanvasRelay } from './canvas-relay';
import { ChunkProcessor } from './chunk-processor';
import { engineReadiness } from './engine-readiness';
import { injectFaults } from './fault-injection';
import { InteractiveConsumer } from './interactive/interactive-consumer';
import { startHealthServer } from './health-server';
import { IsolationLane } from './isolation-lane';
import { WorkerMetrics } from './metrics';
import { ResultWriter } from './result-writer';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createProcessLogger('worker', config.LOG_LEVEL);
  const workerId = config.WORKER_ID ?? `${hostname()}:${process.pid}`;
  const metrics = new WorkerMetrics();
  // replaced by the real shutdown once everything it stops exists
  let stop = (_reason: string, exitCode: number): Promise<void> => process.exit(exitCode);

  const dataSource = await new DataSource(dataSourceOptions(config)).initialize();
  const engine = await Engine.start(
    {
      modelDir: config.MODEL_DIR,
      executionProviders: config.ENGINE_EXECUTION_PROVIDERS,
      requireGpu: config.ENGINE_REQUIRE_GPU,
      intraOpThreads: config.ENGINE_INTRA_OP_THREADS,
      intraOpSpinning: config.ENGINE_INTRA_OP_SPINNING,
      refreshHoldSteps: config.ENGINE_REFRESH_HOLD_STEPS,
      refreshMinRows: config.ENGINE_REFRESH_MIN_ROWS,
      maxBatchRows: config.ENGINE_MAX_BATCH_ROWS,
      maxBatchTokens: config.ENGINE_MAX_BATCH_TOKENS,
      onWarning: (message) => log.warn({ component: 'engine' }, message),
    },
    {
      maxRestarts: config.ENGINE_MAX_RESTARTS,
      restartWindowMs: config.ENGINE_RESTART_WINDOW_MS,
      onThreadDeath: (err, restarting) => {
        log.error(
          { err: err.message, restarting },
          'engine thread died; its rows go back to their chunks',
        );
        metrics.engineUp.set(0);
        if (restarting) metrics.engineRestarts.inc();
      },
      onFatal: (err) => {
        log.fatal({ err: err.message }, 'engine cannot be kept alive; exiting for a restart');
        void stop('engine failed', 1);
      },
    },
  );
  metrics.engineUp.set(1);
  const { info } = engine;
  metrics.describeEngine(info);
  log.info(
    {
      worker_id: workerId,
      model: info.model,
      provider: info.provider,
      requested_providers: info.requestedProviders,
      max_batch_rows: info.maxBatchRows,
      max_batch_tokens: info.maxBatchTokens,
      batch_limits_measured_by: info.batchLimitsMeasuredBy,
      placement: info.placement,
    },
    'engine ready',
  );
  if (info.fellBack) {
    log.warn(
      {
        provider: info.provider,
        requested_providers: info.requestedProviders,
        failures: info.providerFailures,
      },
      'GPU requested but the engine runs on the cpu',
    );
  }

  // One connection for every append: a batch's canvases reach its stream before its end events.
  const eventsConnection = new Redis(config.REDIS_URL, { enableOfflineQueue: false });
  const events = new BatchEventLog(
    eventsConnection,
    config.QUEUE_PREFIX,
    dataSource,
    (msg, detail) => log.warn(detail, msg),
  );
  const progress = new BatchProgressRepository(
    dataSource,
    { maxAttempts: config.ITEM_MAX_ATTEMPTS, poisonRuns: config.ITEM_POISON_RUNS },
    events,
  );
  const writer = new ResultWriter((outcomes) => progress.finishItems(outcomes), {
    maxRows: config.RESULT_FLUSH_ROWS,
    flushMs: config.RESULT_FLUSH_MS,
    attempts: config.RESULT_WRITE_ATTEMPTS,
    backoffMs: config.RESULT_WRITE_BACKOFF_MS,
    onClosed: (p) =>
      log.info({ batch_id: p.batchId, status: p.status, counts: p.counts }, 'batch closed'),
    onRetry: (err, attempt) =>
      log.warn({ err: err.message, attempt }, 'result write failed; retrying'),
    onUnstorable: (o, err) => {
      metrics.unstorableResults.inc();
      log.error(
        { batch_id: o.batchId, index: o.index, err: err.message },
        'Postgres refused a result even alone; the item fails alone',
      );
    },
  });
  const cancels = new CancelWatcher(new Redis(config.REDIS_URL, redisOptions('consumer')));
  await cancels.start();
  const canvases = new CanvasRelay(eventsConnection, config.QUEUE_PREFIX, log);
  const generator = injectFaults(config.FAULT_INJECTION, engine, log);
  const lane = new IsolationLane();
  // the queue as a producer sees it: waiting chunks for the budget controller, and the repair loop
  const repairQueue = openChunkQueue(config, 'producer');
  const queuePeek = new QueuePeek(repairQueue, dataSource, config.BATCH_CHUNK_SIZE);
  const budget = new BudgetLoop({
    engine,
    waiting: () => queuePeek.waiting(),
    model: info.model,
    log: log.child({ component: 'budget' }),
    metrics,
    intervalMs: config.BUDGET_INTERVAL_MS,
    relaxMargin: config.BUDGET_RELAX_MARGIN,
    planMargin: config.BUDGET_PLAN_MARGIN,
    relaxHoldMs: config.BUDGET_RELAX_HOLD_MS,
  });
  budget.start();
  const processor = new ChunkProcessor({
    progress,
    engine: generator,
    writer,
    cancels,
    workerId,
    log,
    metrics,
    canvases,
    poisonRuns: config.ITEM_POISON_RUNS,
    suspectAfterStalls: config.WORKER_SUSPECT_STALLS,
    lane,
    budget,
  });

  const chunks = openConsumer<ChunkJobData>(
    'chunks',
    config,
    (job: Job<ChunkJobData>, token?: string) => processor.process(job, token),
    info.maxBatchRows,
  );
  const { worker } = chunks;
  worker.on('failed', (job, err) =>
    log.error(
      { job_id: job?.id, batch_id: job?.data.batchId, chunk: job?.data.chunk, err: err.message },
      'chunk failed',
    ),
  );
  worker.on('error', (err) => log.error({ err: err.message }, 'queue error'));
  worker.on('stalled', (jobId) => log.warn({ job_id: jobId }, 'chunk stalled; taken over'));

  // Any process may lead the repair loop; workers take part so repair goes on while the API is down.
  const repair = repairLoopFor(config, {
    dataSource,
    queue: repairQueue,
    progress,
    events,
    log: log.child({ component: 'repair' }),
    onAction: (action, count) => metrics.repairActions.inc({ action }, count),
  });
  repair.start();

  // POST /v1/completions and chat: their own queue and slots, ahead of queued bulk chunks
  const interactive = new InteractiveConsumer({
    config,
    engine: generator,
    progress,
    cancels,
    workerId,
    log: log.child({ queue: 'interactive' }),
    metrics,
    canvases,
    poisonRuns: config.ITEM_POISON_RUNS,
    suspectAfterStalls: config.WORKER_SUSPECT_STALLS,
    lane,
  });
  interactive.start();

  const health = await startHealthServer(
    config.WORKER_METRICS_PORT,
    {
      redis: () => chunks.connection.ping(),
      postgres: () => dataSource.query('SELECT 1'),
      // synchronous: a dead thread cannot hang the probe
      engine: () => {
        const { state, lastError } = engine.health();
        return state === 'ready'
          ? Promise.resolve()
          : Promise.reject(new Error(`engine ${state}${lastError ? ` (${lastError})` : ''}`));
      },
    },
    metrics,
    () => ({ engine: engineReadiness(info) }),
    async () => {
      metrics.engineUp.set(engine.health().state === 'ready' ? 1 : 0);
      const s = await engine.stats(config.HEALTH_PROBE_TIMEOUT_MS);
      metrics.activeRows.set(s.active);
      metrics.waitingRows.set(s.waiting);
      metrics.steps.set(s.steps);
      metrics.forwardSeconds.set(s.forwardMs / 1000);
      metrics.stepSeconds.set(s.stepMs / 1000);
      for (const [graph, calls] of Object.entries(s.forwards)) {
        metrics.graphCalls.set({ graph }, calls);
        metrics.graphRows.set({ graph }, s.rowsByGraph[graph as keyof typeof s.rowsByGraph]);
      }
    },
    config.HEALTH_PROBE_TIMEOUT_MS,
  );
  log.info(
    { concurrency: workerConcurrency(config, info.maxBatchRows), port: config.WORKER_METRICS_PORT },
    'worker consuming',
  );

  let stopping = false;
  stop = async (reason: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // a failed engine cannot finish rows: hand them back at once instead of draining
    const drainMs = exitCode === 0 ? config.WORKER_DRAIN_MS : 0;
    log.info({ reason, drain_ms: drainMs }, 'stopping: no new chunks, draining running rows');
    const interactiveDrained = interactive.stop(drainMs);
    await chunks.close({
      drainMs,
      onTimeout: () => {
        log.warn('drain timed out: handing unfinished chunks back to the queue');
        processor.handBackAll();
      },
    });
    budget.stop();
    await writer.flush();
    await interactiveDrained;
    await repair.stop();
    await repairQueue.closeAll();
    await events.settled(); // the last commits' events, before their connection goes
    await Promise.allSettled([cancels.stop(), engine.close(), dataSource.destroy()]);
    canvases.close();
    health.close();
    log.info({ exit_code: exitCode }, 'stopped');
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  process.once('SIGINT', () => void stop('SIGINT', 0));
}

main().catch((err: Error) => {
  console.error(
    JSON.stringify({ level: 'fatal', msg: 'worker failed to start', err: err.message }),
  );
  process.exit(1);
});
