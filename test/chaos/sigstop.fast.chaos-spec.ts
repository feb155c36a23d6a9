import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { ChaosStack, chaosItems } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(900_000);

describe('chaos: a worker frozen past its lock (SIGSTOP), then thawed (SIGCONT)', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('its chunks are taken over, it then finishes them too (duplicate delivery), yet every item ends exactly once', async () => {
    const items = chaosItems();
    const frozen = await stack.startWorker();
    const other = await stack.startWorker();
    await Promise.all([stack.workerReady(frozen), stack.workerReady(other)]);
    const started = Date.now();
    const id = await stack.seed(items);
    await waitFor(
      '20% ended',
      async () => (await stack.completed(id)) >= 0.2 * items,
      600_000,
      100,
    );
    const pid = frozen.current.child.pid!;
    // Freeze it while it holds claimed, unfinished items: short items finish in milliseconds, and a
    // worker frozen between chunks (or between taking a job and claiming its items) leaves nothing
    // that can be claimed *again*. Once stopped, what it holds in Postgres cannot change.
    await waitFor(
      'worker frozen holding claimed items',
      async () => {
        process.kill(pid, 'SIGSTOP');
        const r = await stack.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status = 'in_progress' AND worker_id LIKE $2`,
          [id, `%:${pid}`],
        );
        if (r.rows[0]!.n > 0) return true;
        process.kill(pid, 'SIGCONT');
        return false;
      },
      60_000,
      50,
    );
    // its locks lapse, the other worker's stalled check takes its chunks and claims them again
    await waitFor(
      'frozen worker items claimed again by the other',
      async () => {
        const r = await stack.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts >= 2 AND worker_id NOT LIKE $2`,
          [id, `%:${pid}`],
        );
        return r.rows[0]!.n > 0;
      },
      120_000,
      200,
    );
    process.kill(pid, 'SIGCONT');
    await waitFor('batch ended', async () => (await openBatches(stack.db)) === 0, 600_000, 500);
    const audit = await auditBatch(stack.db, id);
    recordCase(
      'SIGSTOP a worker past its lock, then SIGCONT',
      audit,
      (Date.now() - started) / 1000,
    );
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items,
      writtenTwice: 0,
      neverEnded: 0,
    });
    expect(audit.retried).toBeGreaterThan(0);
    expect(frozen.restarts).toBe(0); // thawed, it carried on
  });
});
