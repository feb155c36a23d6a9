/**
 * Worker process: consumes chunk jobs, runs their rows through the engine (in its own thread) and
 * writes results to Postgres; takes part in the repair loop's leader election. Exits non-zero
 * when it cannot start or its engine cannot be kept alive, so the orchestrator restarts it.
 */
import 'reflect-metadata';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { pickModels, readModelCatalog } from '@dllm/engine/bundle/model-catalog';
import {
  BatchEventLog,
  BatchProgressRepository,
  ChunkQueues,
  createProcessLogger,
  dataSourceOptions,
  loadConfig,
  redisOptions,
  repairLoopFor,
  workerConcurrency,
} from '@dllm/shared';
import { CancelWatcher } from './cancel-watcher';
import { CanvasRelay } from './canvas-relay';
import { engineReadiness } from './engine-readiness';
import { startHealthServer } from './health-server';
import { WorkerMetrics } from './metrics';
import { ModelLane } from './model-lane';
import { ResultWriter } from './result-writer';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createProcessLogger('worker', config.LOG_LEVEL);
  const workerId = config.WORKER_ID ?? `${hostname()}:${process.pid}`;
  const metrics = new WorkerMetrics();
  // replaced by the real shutdown once everything it stops exists
  let stop = (_reason: string, exitCode: number): Promise<void> => process.exit(exitCode);

  const dataSource = await new DataSource(dataSourceOptions(config)).initialize();
  // the models this worker serves, by the catalog the API reads too (MODEL_DIR, MODELS)
  const catalog = readModelCatalog(config.MODEL_DIR, config.MODELS);
  const served = pickModels(catalog, config.WORKER_MODELS);

  // One connection for every append: a batch's canvases reach its stream before its end events.
  const eventsConnection = new Redis(config.REDIS_URL, { enableOfflineQueue: false });
  const events = new BatchEventLog(
    eventsConnection,
    config.QUEUE_PREFIX,
    dataSource,
    (msg, detail) => log.warn(detail, msg),
    config.CANVAS_RETENTION_S,
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
  const canvases = new CanvasRelay(
    eventsConnection,
    config.QUEUE_PREFIX,
    log,
    config.CANVAS_RETENTION_S,
  );
  // One lane per model: its engine and the consumers of its queues (see ModelLane).
  const lanes: ModelLane[] = [];
  for (const model of served) {
    lanes.push(
      await ModelLane.start(model, {
        config,
        dataSource,
        progress,
        writer,
        cancels,
        canvases,
        workerId,
        log,
        metrics,
        onFatal: () => void stop('engine failed', 1),
      }),
    );
  }
  // Any process may lead the repair loop; workers take part so repair goes on while the API is down.
  // It repairs every model's queue, not only the ones this worker serves.
  const repairQueues = new ChunkQueues(
    config,
    catalog.map((m) => m.name),
    'producer',
  );
  const repair = repairLoopFor(config, {
    dataSource,
    queueFor: (model) => repairQueues.for(model),
    progress,
    events,
    log: log.child({ component: 'repair' }),
    onAction: (action, count) => metrics.repairActions.inc({ action }, count),
  });
  repair.start();

  const health = await startHealthServer(
    { port: config.WORKER_METRICS_PORT, host: config.WORKER_METRICS_HOST },
    {
      redis: () => lanes[0]!.chunks.connection.ping(),
      postgres: () => dataSource.query('SELECT 1'),
      // synchronous: a dead thread cannot hang the probe
      engine: () => {
        for (const lane of lanes) {
          const { state, lastError } = lane.engine.health();
          if (state !== 'ready') {
            return Promise.reject(
              new Error(`engine ${state} (${lane.model.name}${lastError ? `: ${lastError}` : ''})`),
            );
          }
        }
        return Promise.resolve();
      },
    },
    metrics,
    () =>
      lanes.length === 1
        ? { engine: engineReadiness(lanes[0]!.engine.info) }
        : {
            engine: engineReadiness(lanes[0]!.engine.info),
            engines: lanes.map((lane) => engineReadiness(lane.engine.info)),
          },
    async () => {
      // per model: one lane's engine restarting leaves the others' figures fresh
      await Promise.all(lanes.map((lane) => lane.refreshMetrics(config.HEALTH_PROBE_TIMEOUT_MS)));
    },
    config.HEALTH_PROBE_TIMEOUT_MS,
  );
  log.info(
    {
      models: lanes.map((lane) => lane.model.name),
      concurrency: workerConcurrency(config, lanes[0]!.engine.info.maxBatchRows),
      port: config.WORKER_METRICS_PORT,
    },
    'worker consuming',
  );

  let stopping = false;
  stop = async (reason: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // a failed engine cannot finish rows: hand them back at once instead of draining
    const drainMs = exitCode === 0 ? config.WORKER_DRAIN_MS : 0;
    log.info({ reason, drain_ms: drainMs }, 'stopping: no new chunks, draining running rows');
    await Promise.all(lanes.map((lane) => lane.drain(drainMs, log)));
    await writer.flush();
    await repair.stop();
    await repairQueues.closeAll();
    await events.settled(); // the last commits' events, before their connection goes
    await Promise.allSettled([
      cancels.stop(),
      ...lanes.map((lane) => lane.close()),
      dataSource.destroy(),
    ]);
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
