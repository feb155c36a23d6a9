import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { ChaosStack, chaosItems } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(1_800_000);

describe('chaos: workers SIGKILLed ten times during a batch', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('with three workers under a restart policy (two to four running), every item ends exactly once', async () => {
    const items = chaosItems();
    const workers = [
      await stack.startWorker(),
      await stack.startWorker(),
      await stack.startWorker(),
    ];
    await Promise.all(workers.map((w) => stack.workerReady(w)));
    const started = Date.now();
    const id = await stack.seed(items);
    const kills = 10;
    for (let k = 0; k < kills; k++) {
      // the k-th kill once (k+1)/(kills+2) of the batch has ended: spread over the whole run
      const target = Math.floor(((k + 1) / (kills + 2)) * items);
      await waitFor(
        `${target} items ended`,
        async () => (await stack.completed(id)) >= target,
        900_000,
        100,
      );
      const victim = workers[k % workers.length]!;
      await stack.workerReady(victim, 120_000); // kill a worker that is up and holding work
      victim.current.child.kill('SIGKILL');
    }
    await waitFor('batch ended', async () => (await openBatches(stack.db)) === 0, 900_000, 500);
    const audit = await auditBatch(stack.db, id);
    const restarts = workers.reduce((n, w) => n + w.restarts, 0);
    recordCase('10 worker SIGKILLs, 3 supervised workers', audit, (Date.now() - started) / 1000, {
      restarts,
    });
    expect(restarts).toBe(kills);
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items,
      writtenTwice: 0,
      neverEnded: 0,
    });
    expect(audit.retried).toBeGreaterThan(0); // killed workers' chunks really were taken over
  });
});
