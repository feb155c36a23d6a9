/**
 * The inference thread: owns the onnxruntime session and the scheduler. onnxruntime-node's run
 * blocks the JS thread that calls it, so it lives here and the main thread stays free (BullMQ lock
 * renewals, HTTP health checks, progress bars).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModelBundle } from './bundle/model-bundle';
import type { FromThread, ThreadInit, ToThread } from './engine-protocol';
import { describeAttempts } from './runtime/execution-providers';
import { createOrtForward } from './runtime/create-forward';
import { batchLimitsFor, ENGINE_TUNING_DEFAULTS } from './runtime/scheduling-defaults';
import { Scheduler } from './scheduler/scheduler';

const port = parentPort!;
const send = (m: FromThread): void => port.postMessage(m);

async function main(): Promise<void> {
  const init = workerData as ThreadInit;
  const bundle = loadModelBundle(init.modelDir);
  const forward = await createOrtForward(bundle, {
    executionProviders: init.executionProviders,
    requireGpu: init.requireGpu,
    intraOpThreads: init.intraOpThreads,
    intraOpSpinning: init.intraOpSpinning ?? ENGINE_TUNING_DEFAULTS.intraOpSpinning,
    onWarning: (message) => send({ type: 'warning', message }),
  });
  const { providerInfo } = forward;
  const limits = batchLimitsFor(providerInfo.provider, init);
  const scheduler = new Scheduler(forward, bundle, {
    maxRows: limits.maxBatchRows,
    maxTokens: limits.maxBatchTokens,
    refreshHoldSteps: init.refreshHoldSteps ?? ENGINE_TUNING_DEFAULTS.refreshHoldSteps,
    refreshMinRows: init.refreshMinRows ?? ENGINE_TUNING_DEFAULTS.refreshMinRows,
    packStepCalls: init.packStepCalls ?? ENGINE_TUNING_DEFAULTS.packStepCalls,
    packAheadRows: init.packAheadRows ?? ENGINE_TUNING_DEFAULTS.packAheadRows,
  });
  port.on('message', (m: ToThread) => {
    switch (m.type) {
      case 'generate':
        scheduler
          .submit(
            m.id,
            m.request,
            m.wantIntermediate
              ? (state) => send({ type: 'intermediate', id: m.id, state })
              : undefined,
            m.priority,
          )
          .then(
            (result) =>
              send({
                type: 'result',
                id: m.id,
                result: { ...result, provider: providerInfo.provider },
              }),
            (err: Error) => send({ type: 'error', id: m.id, name: err.name, message: err.message }),
          );
        break;
      case 'cancel':
        scheduler.cancel(m.id);
        break;
      case 'auto-threshold':
        scheduler.autoThreshold = m.threshold;
        break;
      case 'stats':
        send({ type: 'stats', id: m.id, stats: { ...scheduler.stats, ...scheduler.load } });
        break;
      case 'crash':
        setImmediate(() => {
          throw new Error('injected engine thread crash');
        });
        break;
      case 'close':
        void scheduler
          .idle()
          .then(() => forward.release())
          .then(() => {
            send({ type: 'closed' });
            port.close();
          });
        break;
    }
  });
  send({
    type: 'ready',
    info: {
      model: bundle.name,
      maxLength: bundle.maxLength,
      vocabSize: bundle.vocabSize,
      provider: providerInfo.provider,
      requestedProviders: providerInfo.requested,
      fellBack: providerInfo.fellBack,
      providerFailures: describeAttempts(providerInfo.attempts).split('\n').filter(Boolean),
      placement: providerInfo.placement?.nodes ?? null,
      maxBatchRows: limits.maxBatchRows,
      maxBatchTokens: limits.maxBatchTokens,
      batchLimitsMeasuredBy: limits.measuredBy,
    },
  });
}

main().catch((err: Error) => send({ type: 'fatal', message: err.message }));
