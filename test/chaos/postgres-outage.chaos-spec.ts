import { auditBatch, openBatches, recordCase } from '../support/chaos/audit';
import { ChaosStack, chaosItems } from '../support/chaos/chaos-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(1_800_000);

/** How long Postgres stays down: the 60 s unless CHAOS_PG_OUTAGE_MS says otherwise. */
const OUTAGE_MS = Number(process.env.CHAOS_PG_OUTAGE_MS ?? 60_000);

describe('chaos: Postgres stopped mid-batch', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await ChaosStack.start();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it(`down ${OUTAGE_MS / 1000} s, longer than every retry: health never hangs, and afterwards every item ends exactly once`, async () => {
    const items = chaosItems();
    const workers = [await stack.startWorker(), await stack.startWorker()];
    await Promise.all(workers.map((w) => stack.workerReady(w)));
    const started = Date.now();
    const id = await stack.seed(items);
    await waitFor(
      '30% ended',
      async () => (await stack.completed(id)) >= 0.3 * items,
      900_000,
      100,
    );
    await stack.postgres.stop();
    const down = Date.now();
    // during the outage the health routes answer (within the probe timeout), naming Postgres
    const ready = await waitFor(
      'readyz names postgres',
      async () => {
        const res = await fetch(`http://127.0.0.1:${workers[0]!.metricsPort}/readyz`, {
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { checks: Record<string, string> };
        return res.status === 503 && body.checks.postgres !== 'ok' ? body : undefined;
      },
      30_000,
      250,
    );
    expect(ready.checks.postgres).not.toBe('ok');
    expect(
      (
        await fetch(`http://127.0.0.1:${workers[0]!.metricsPort}/metrics`, {
          signal: AbortSignal.timeout(10_000),
        })
      ).status,
    ).toBe(200);
    // the outage lasts its full length (a duration of the fault, not an ordering of events)
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));
    await stack.postgres.start();
    await stack.reconnect();
    await waitFor('batch ended', async () => (await openBatches(stack.db)) === 0, 900_000, 500);
    const audit = await auditBatch(stack.db, id);
    recordCase(`Postgres down ${OUTAGE_MS / 1000} s`, audit, (Date.now() - started) / 1000, {
      outage_s: OUTAGE_MS / 1000,
    });
    expect(audit).toMatchObject({
      status: 'completed',
      completed: items,
      writtenTwice: 0,
      neverEnded: 0,
    });
  });
});
