import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { ChaosStack, chaosItems } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(900_000);

describe('chaos: the engine thread dies inside a live worker', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('its rows go back to their chunks, the thread restarts, readiness says so, every item ends once', async () => {
    const items = chaosItems();
    const hit = await stack.startWorker({
      FAULT_INJECTION: 'engine-crash-signal',
      ENGINE_MAX_RESTARTS: '5',
    });
    const other = await stack.startWorker();
    await Promise.all([stack.workerReady(hit), stack.workerReady(other)]);
    const started = Date.now();
    const id = await stack.seed(items);
    let sawNotReady = 0;
    for (const share of [0.2, 0.5]) {
      await waitFor(
        `${share * 100}% done`,
        async () => (await stack.completed(id)) >= share * items,
        600_000,
        200,
      );
      hit.current.child.kill('SIGUSR2');
      // readiness reflects the death within one probe: poll it until it has said so
      await waitFor(
        'readyz 503 naming the engine',
        async () => {
          const res = await fetch(`http://127.0.0.1:${hit.metricsPort}/readyz`);
          const body = (await res.json()) as { checks: Record<string, string> };
          if (res.status === 503 && /engine/.test(body.checks.engine ?? '')) sawNotReady++;
          return res.status === 503 || sawNotReady > 0;
        },
        10_000,
        10,
      );
      await stack.workerReady(hit, 60_000);
    }
    await waitFor('batch ended', async () => (await openBatches(stack.db)) === 0, 600_000, 500);
    const audit = await auditBatch(stack.db, id);
    recordCase(
      'engine thread killed twice in a live worker',
      audit,
      (Date.now() - started) / 1000,
      { workers: 2, thread_kills: 2 },
    );
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items,
      failed: 0,
      writtenTwice: 0,
      neverEnded: 0,
    });
    expect(hit.restarts).toBe(0); // the thread restarted; the process lived on
    expect(hit.current.output()).toMatch(/engine thread died/);
  });
});
