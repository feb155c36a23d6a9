/**
 * Worker process: consumes chunk jobs, runs their rows through the engine (in its own thread) and
 * writes results to Postgres. Exits non-zero when it cannot start, so the orchestrator restarts it.
 */
import 'reflect-metadata';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { Engine } from '@dllm/engine';
import { BatchProgressRepository, CHUNK_QUEUE, dataSourceOptions, loadConfig, type ChunkJobData } from '@dllm/shared';
import { CancelWatcher } from './cancel-watcher';
import { CanvasRelay } from './canvas-relay';
import { ChunkFailureSweeper } from './chunk-failure-sweeper';
import { ChunkProcessor } from './chunk-processor';
import { engineReadiness } from './engine-readiness';
import { InteractiveConsumer } from './interactive/interactive-consumer';
import { startHealthServer } from './health-server';
import { WorkerMetrics } from './metrics';
import { ResultWriter } from './result-writer';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.LOG_LEVEL, base: { service: 'worker' } });
  const workerId = config.WORKER_ID ?? `${hostname()}:${process.pid}`;
  const metrics = new WorkerMetrics();

  const dataSource = await new DataSource(dataSourceOptions(config)).initialize();
  const engine = await Engine.start({
    modelDir: config.MODEL_DIR,
    executionProviders: config.ENGINE_EXECUTION_PROVIDERS,
    requireGpu: config.ENGINE_REQUIRE_GPU,
    intraOpThreads: config.ENGINE_INTRA_OP_THREADS,
    maxBatchRows: config.ENGINE_MAX_BATCH_ROWS,
    maxBatchTokens: config.ENGINE_MAX_BATCH_TOKENS,
    onWarning: (message) => log.warn({ component: 'engine' }, message),
  });
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
    log.warn({ provider: info.provider, requested_providers: info.requestedProviders, failures: info.providerFailures }, 'GPU requested but the engine runs on the cpu');
  }

  const progress = new BatchProgressRepository(dataSource);
  const writer = new ResultWriter((outcomes) => progress.finishItems(outcomes), {
    maxRows: config.RESULT_FLUSH_ROWS,
    flushMs: config.RESULT_FLUSH_MS,
    attempts: 5,
    backoffMs: 200,
    onClosed: (p) => log.info({ batch_id: p.batchId, status: p.status, counts: p.counts }, 'batch closed'),
    onRetry: (err, attempt) => log.warn({ err: err.message, attempt }, 'result write failed; retrying'),
  });
  const cancels = new CancelWatcher(new Redis(config.REDIS_URL, { maxRetriesPerRequest: null }));
  await cancels.start();
  const canvases = new CanvasRelay(new Redis(config.REDIS_URL, { enableOfflineQueue: false }), config.QUEUE_PREFIX, log);
  const processor = new ChunkProcessor({ progress, engine, writer, cancels, workerId, log, metrics, canvases });

  // Enough chunks in flight that the engine batch stays full while some chunks finish.
  const concurrency = config.WORKER_CONCURRENCY || Math.max(2, Math.ceil((2 * info.maxBatchRows) / config.BATCH_CHUNK_SIZE) + 1);
  const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker<ChunkJobData>(CHUNK_QUEUE, (job: Job<ChunkJobData>, token?: string) => processor.process(job, token), {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency,
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_STALLED_CHECK_MS,
    maxStalledCount: config.WORKER_MAX_STALLED,
  });
  const sweeper = new ChunkFailureSweeper(() => new Redis(config.REDIS_URL, { maxRetriesPerRequest: null }), config.QUEUE_PREFIX, progress, log);
  await sweeper.start();
  // POST /v1/completions and chat: their own queue and slots, ahead of queued bulk chunks
  const interactive = new InteractiveConsumer({
    connect: () => new Redis(config.REDIS_URL, { maxRetriesPerRequest: null }),
    prefix: config.QUEUE_PREFIX,
    concurrency: config.INTERACTIVE_CONCURRENCY,
    lockMs: config.WORKER_LOCK_MS,
    stalledCheckMs: config.WORKER_STALLED_CHECK_MS,
    maxStalled: config.WORKER_MAX_STALLED,
    engine,
    progress,
    cancels,
    workerId,
    log: log.child({ queue: 'interactive' }),
    metrics,
    canvases,
  });
  interactive.start();
  worker.on('failed', (job, err) => log.error({ job_id: job?.id, batch_id: job?.data.batchId, chunk: job?.data.chunk, err: err.message }, 'chunk failed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'queue error'));
  worker.on('stalled', (jobId) => log.warn({ job_id: jobId }, 'chunk stalled; taken over'));

  const health = await startHealthServer(
    config.WORKER_METRICS_PORT,
    {
      redis: () => connection.ping(),
      postgres: () => dataSource.query('SELECT 1'),
      engine: () => engine.stats(),
    },
    metrics,
    () => ({ engine: engineReadiness(info) }),
    async () => {
      const s = await engine.stats();
      metrics.activeRows.set(s.active);
      metrics.waitingRows.set(s.waiting);
      metrics.steps.set(s.steps);
      metrics.forwardSeconds.set(s.forwardMs / 1000);
      metrics.stepSeconds.set(s.stepMs / 1000);
    },
  );
  log.info({ concurrency, port: config.WORKER_METRICS_PORT }, 'worker consuming');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drain_ms: config.WORKER_DRAIN_MS }, 'stopping: no new chunks, draining running rows');
    const interactiveDrained = interactive.stop(config.WORKER_DRAIN_MS);
    const drained = worker.close();
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), config.WORKER_DRAIN_MS).unref());
    if ((await Promise.race([drained, timeout])) === 'timeout') {
      log.warn('drain timed out: handing unfinished chunks back to the queue');
      processor.handBackAll();
      await drained;
    }
    await writer.flush();
    await interactiveDrained;
    await sweeper.stop();
    await Promise.allSettled([cancels.stop(), engine.close(), dataSource.destroy()]);
    canvases.close();
    connection.disconnect();
    health.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: Error) => {
  console.error(JSON.stringify({ level: 'fatal', msg: 'worker failed to start', err: err.message }));
  process.exit(1);
});
