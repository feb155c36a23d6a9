import { randomBytes } from 'node:crypto';
import type { Job, Queue, Worker } from 'bullmq';
import pino from 'pino';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { ForwardBatch, ForwardResult } from '@dllm/engine/runtime/forward-pass';
import { FakeForward, fakeBundle } from '@dllm/engine/testing/fake-forward';
import { InProcessEngine } from '@dllm/engine/testing/in-process-engine';
import {
  BatchProgressRepository,
  dataSourceOptions,
  loadConfig,
  openChunkWorker,
  redisOptions,
  type ChunkJobData,
} from '@dllm/shared';
import { BudgetLoop } from '@dllm/engine/budget';
import { QueuePeek } from '../apps/worker/src/budget/queue-peek';
import { CancelWatcher } from '../apps/worker/src/cancel-watcher';
import { ChunkProcessor } from '../apps/worker/src/chunk-processor';
import { WorkerMetrics } from '../apps/worker/src/metrics';
import { ResultWriter } from '../apps/worker/src/result-writer';
import { TestClock } from './support/clock';
import { REDIS_URL } from './support/services';
import { chunkQueue, seedBatch } from './support/seed-batch';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { waitFor } from './support/wait-for';

// The real worker code (chunk processor, result writer, budget loop) against real Redis and Postgres,
// over an engine of known speed: a fake model whose every forward takes FORWARD_MS, with at most
// ROWS rows per forward. Its confidences are spread so that a row at threshold 0.9 needs ~20
// forwards and one at 0.5 or lower a few: capacity depends on the threshold, deterministically.
// Time is the model's: a TestClock that each forward moves by FORWARD_MS is the worker's clock
// (budget loop, chunk processor, scheduler) and the judge of deadlines, so Postgres, Redis and
// other test files running beside this one cost no time and cannot make a row miss.
jest.setTimeout(60_000);

const ROWS = 8;
const FORWARD_MS = 25;
const ITEMS = 96;
const CHUNK = 8;
const GEN = 24;
const DEADLINE_MS = 5000;

const bundle = fakeBundle();
const A = bundle.tokenizer.encode('a')[0]!;
const spread = (_ids: number[], p: number) => ({
  ids: [A],
  probs: [0.3 + (0.65 * ((p * 37) % 100)) / 100],
});

/** The fake model, whose forwards are what moves the clock. */
class ClockedForward extends FakeForward {
  constructor(private readonly clock: TestClock) {
    super(spread);
    this.delayMs = FORWARD_MS; // real time too, so the loop's real-time interval is no rarer than a model's
  }

  override async run(b: ForwardBatch): Promise<ForwardResult> {
    const out = await super.run(b);
    this.clock.advance(FORWARD_MS);
    return out;
  }
}

describe('budget "auto" under overload (real Redis and Postgres, fake model of fixed speed)', () => {
  let tdb: TestDatabase;
  let db: Client;
  let queue: Queue<ChunkJobData>;
  let worker: Worker<ChunkJobData>;
  let connection: Redis;
  let dataSource: DataSource;
  let cancels: CancelWatcher;
  let budget: BudgetLoop;
  let writer: ResultWriter;
  const prefix = `dllm-test-${randomBytes(4).toString('hex')}`;
  const clock = new TestClock();
  /** when each item ended, by the clock: `${batchId}:${index}` */
  const endedAt = new Map<string, number>();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = new Client({ connectionString: tdb.url });
    await db.connect();
    queue = chunkQueue(prefix);
    // default WORKER_CONCURRENCY: the worker holds 3 of the 12 chunks; the rest it sees in the queue (QueuePeek)
    const config = loadConfig({
      DATABASE_URL: tdb.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      BATCH_CHUNK_SIZE: String(CHUNK),
      RESULT_FLUSH_MS: '20',
    });
    dataSource = await new DataSource(dataSourceOptions(config)).initialize();
    const progress = new BatchProgressRepository(dataSource, { maxAttempts: 3, poisonRuns: 1 });
    writer = new ResultWriter((o) => progress.finishItems(o), {
      maxRows: 64,
      flushMs: 20,
      attempts: 3,
      backoffMs: 50,
    });
    cancels = new CancelWatcher(new Redis(REDIS_URL, redisOptions('consumer')));
    await cancels.start();
    const engine = new InProcessEngine(new ClockedForward(clock), bundle, {
      maxRows: ROWS,
      maxTokens: 1_000_000,
      now: clock.now,
    });
    const log = pino({ level: 'silent' });
    const peek = new QueuePeek(queue, dataSource, CHUNK);
    budget = new BudgetLoop({
      engine,
      waiting: () => peek.waiting(),
      model: 'fake',
      log,
      metrics: new WorkerMetrics(),
      intervalMs: 250,
      relaxMargin: 0.2,
      planMargin: 0.1,
      relaxHoldMs: 1000,
      now: clock.now,
    });
    budget.start();
    const processor = new ChunkProcessor({
      progress,
      engine,
      writer: {
        write: (o) => {
          endedAt.set(`${o.batchId}:${o.index}`, clock.now());
          return writer.write(o);
        },
      },
      cancels,
      workerId: 'budget-e2e',
      log,
      poisonRuns: 1,
      suspectAfterStalls: 2,
      budget,
      now: clock.now,
    });
    ({ worker, connection } = openChunkWorker(
      config,
      'dllm-code-small',
      (job: Job<ChunkJobData>, token?: string) => processor.process(job, token),
      ROWS,
    ));
  });

  afterAll(async () => {
    budget?.stop();
    await worker?.close();
    connection?.disconnect();
    await writer?.flush();
    await cancels?.stop();
    await dataSource?.destroy();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await db?.end();
    await tdb?.drop();
  });

  /** Submits ITEMS items due DEADLINE_MS from now; returns each item's outcome once the batch has ended. */
  async function overload(params: Record<string, unknown>) {
    // the batch's created_at is wall time: a deadline before it would be void
    clock.catchUp(Date.now());
    const due = clock.now() + DEADLINE_MS;
    const deadline = new Date(due).toISOString();
    const id = await seedBatch(db, queue, {
      items: ITEMS,
      params: { gen_length: GEN, stop_at_eos: false, seed: 1, deadline, ...params },
      chunkSize: CHUNK,
    });
    await waitFor(
      'batch ended',
      async () =>
        (await db.query(`SELECT 1 FROM batches WHERE id = $1 AND status = 'completed'`, [id]))
          .rowCount === 1,
      45_000,
    );
    const { rows } = await db.query<{
      index: number;
      budget: string;
      applied_threshold: number;
      steps: number;
    }>(
      `SELECT index, budget, applied_threshold, steps
       FROM batch_items WHERE batch_id = $1 AND status = 'completed'`,
      [id],
    );
    expect(rows).toHaveLength(ITEMS);
    const missed = rows.filter((r) => (endedAt.get(`${id}:${r.index}`) ?? Infinity) > due);
    return { misses: missed.length, rows };
  }

  it('auto meets every deadline by lowering the threshold of rows as they start', async () => {
    const { misses, rows } = await overload({ budget: 'auto' });
    expect(misses).toBe(0);
    expect(rows.every((r) => r.budget === 'auto')).toBe(true);
    // the first rows ran before the controller had measured anything, later ones were tightened
    expect(rows.some((r) => r.applied_threshold === 0.9)).toBe(true);
    expect(rows.filter((r) => r.applied_threshold < 0.9).length).toBeGreaterThan(ITEMS / 2);
  });

  it('the same load at the fixed budget misses deadlines, every row at its own threshold', async () => {
    const { misses, rows } = await overload({});
    expect(rows.every((r) => r.budget === 'fixed' && r.applied_threshold === 0.9)).toBe(true);
    expect(misses).toBeGreaterThan(ITEMS / 5);
  });
});
