import { Engine, EngineCrashedError, type EngineSupervision } from './engine';
import { parseGenerationParams, type GenerationParamsInput } from './params';

const MODEL = 'models/dllm-code-small';
const req = (
  prompt: string,
  params: GenerationParamsInput = { policy: 'fixed', gen_length: 32 },
) => ({ task: { prompt }, params: parseGenerationParams(params) });

/** A row that reports its first step: once `running` resolves, it is inside the thread. */
function runningRow(engine: Engine, prompt: string) {
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const result = engine.generate(
    req(prompt, { policy: 'fixed', gen_length: 32, intermediate_every: 1 }),
    { onIntermediate: () => started() },
  );
  return { running, result };
}

/** The inference thread dies (a bug escaping the scheduler, out of memory): nothing may hang. */
describe('Engine supervision (bundled model, real thread)', () => {
  const start = (supervision: EngineSupervision = {}) =>
    Engine.start({ modelDir: MODEL, maxBatchRows: 8 }, supervision);

  it('rejects the rows in a dead thread at once, restarts it, and serves again', async () => {
    const deaths: boolean[] = [];
    const engine = await start({ onThreadDeath: (_e, restarting) => deaths.push(restarting) });
    try {
      const first = runningRow(engine, 'def a():');
      const rows = [first.result, engine.generate(req('def b():'))];
      await first.running;
      engine.injectThreadCrash();
      for (const r of await Promise.allSettled(rows)) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(EngineCrashedError);
      }
      expect(deaths).toEqual([true]);
      // while it restarts: readiness says so synchronously and stats() does not wait
      expect(engine.health().state).toBe('restarting');
      await expect(engine.stats()).rejects.toBeInstanceOf(EngineCrashedError);
      // a row submitted meanwhile waits for the new thread instead of being lost
      await expect(
        engine.generate(req('x = 1', { policy: 'fixed', gen_length: 4 })),
      ).resolves.toMatchObject({ tokens: 4 });
      expect(engine.health()).toMatchObject({ state: 'ready', restarts: 1 });
      expect((await engine.stats()).steps).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('gives up after maxRestarts deaths in the window: onFatal, and later calls fail fast', async () => {
    const fatal: string[] = [];
    const engine = await start({ maxRestarts: 0, onFatal: (e) => fatal.push(e.message) });
    const row = runningRow(engine, 'def a():');
    await row.running;
    engine.injectThreadCrash();
    await expect(row.result).rejects.toBeInstanceOf(EngineCrashedError);
    expect(fatal).toHaveLength(1);
    expect(engine.health().state).toBe('failed');
    await expect(engine.generate(req('x'))).rejects.toThrow(/engine is failed/);
    await engine.close(); // returns although the thread is gone
  }, 60_000);

  it('runs an alone row by itself: rows before it finish first, rows after it wait for it', async () => {
    const engine = await start();
    try {
      const order: string[] = [];
      const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
      const before = [
        track('before1', engine.generate(req('a = 1'))),
        track('before2', engine.generate(req('b = 2'))),
      ];
      const alone = track(
        'alone',
        engine.generate(req('c = 3', { policy: 'fixed', gen_length: 4 }), { alone: true }),
      );
      const after = track(
        'after',
        engine.generate(req('d = 4', { policy: 'fixed', gen_length: 4 })),
      );
      await Promise.all([...before, alone, after]);
      // a 4-token row would beat 32-token rows if it shared their forwards; alone, it waits for them
      expect(order.slice(2)).toEqual(['alone', 'after']);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it("awaits an alone row's beforeStart with the thread empty, right before the row starts; a rejection skips the row", async () => {
    const engine = await start();
    try {
      const busy = [engine.generate(req('a = 1')), engine.generate(req('b = 2'))];
      let inThread: { active: number; waiting: number } | undefined;
      const alone = engine.generate(req('c = 3', { policy: 'fixed', gen_length: 4 }), {
        alone: true,
        beforeStart: async () => {
          inThread = await engine.stats();
        },
      });
      await Promise.all([...busy, alone]);
      expect(inThread).toMatchObject({ active: 0, waiting: 0 });
      const skipped = engine.generate(req('d = 4'), {
        alone: true,
        beforeStart: () => Promise.reject(new Error('ended elsewhere')),
      });
      await expect(skipped).rejects.toThrow('ended elsewhere');
      await expect(
        engine.generate(req('e = 5', { policy: 'fixed', gen_length: 4 })),
      ).resolves.toMatchObject({ tokens: 4 });
    } finally {
      await engine.close();
    }
  }, 60_000);
});
