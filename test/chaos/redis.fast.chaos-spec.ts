import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { ChaosStack, chaosItems } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(900_000);

describe('chaos: Redis lost mid-batch', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start();
    const workers = [await stack.startWorker(), await stack.startWorker()];
    await Promise.all(workers.map((w) => stack.workerReady(w)));
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const run = async (name: string, fault: () => Promise<void>) => {
    const items = chaosItems();
    const started = Date.now();
    const id = await stack.seed(items);
    await waitFor(
      '30% ended',
      async () => (await stack.completed(id)) >= 0.3 * items,
      600_000,
      100,
    );
    await fault();
    await waitFor('batch ended', async () => (await openBatches(stack.db)) === 0, 600_000, 500);
    const audit = await auditBatch(stack.db, id);
    recordCase(name, audit, (Date.now() - started) / 1000);
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items,
      writtenTwice: 0,
      neverEnded: 0,
    });
  };

  it('SIGKILL, then a restart on its AOF (the last second may be lost): every item ends exactly once', async () => {
    await run('Redis SIGKILL + restart on AOF', async () => {
      await stack.redis.kill('SIGKILL');
      await stack.redis.start();
    });
  });

  it('FLUSHALL (every job gone): the repair loop re-enqueues from Postgres, every item ends exactly once', async () => {
    await run('Redis FLUSHALL', async () => {
      const redis = stack.redis.client();
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
    });
    // the fault really took work away: the repair loop (led by a worker here) put it back
    expect(
      await stack.workerMetric(/^dllm_repair_actions_total\{action="requeued"\}/),
    ).toBeGreaterThan(0);
  });
});
