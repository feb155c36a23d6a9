import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { ChaosStack, chaosItems } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(900_000);

const MARKER = 'POISON-7f3a';

describe('chaos: an item that crashes its worker process on every attempt', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('fails alone as poison after its runs alone crashed; every other item completes, each exactly once', async () => {
    const items = chaosItems();
    const poison = Math.floor(items / 3);
    const faults = { FAULT_INJECTION: `crash-on-prompt:${MARKER}` };
    const workers = [await stack.startWorker(faults), await stack.startWorker(faults)];
    await Promise.all(workers.map((w) => stack.workerReady(w)));
    const started = Date.now();
    const id = await stack.seed(items, {
      prompt: (i) => (i === poison ? `def ${MARKER}(x):` : `def function_${i}(x):`),
    });
    await waitFor('batch ended', async () => (await openBatches(stack.db)) === 0, 900_000, 500);
    const audit = await auditBatch(stack.db, id);
    const crashes = workers.reduce((n, w) => n + w.restarts, 0);
    recordCase(
      'poison item crashing its worker on every attempt',
      audit,
      (Date.now() - started) / 1000,
      { worker_crashes: crashes },
    );
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items - 1,
      failed: 1,
      reasons: { poison: 1 },
      writtenTwice: 0,
      neverEnded: 0,
    });
    const failed = await stack.db.query<{ index: number; error: string }>(
      `SELECT index, error FROM batch_items WHERE batch_id = $1 AND status = 'failed'`,
      [id],
    );
    expect(failed.rows).toEqual([
      { index: poison, error: expect.stringMatching(/^poison: /) as unknown },
    ]);
    expect(crashes).toBeGreaterThanOrEqual(2);
  });
});
