import type { Job } from 'bullmq';
import pino from 'pino';
import {
  EngineCrashedError,
  GenerationError,
  parseGenerationParams,
  RowForwardError,
  type GenerateOptions,
  type GenerationRequest,
  type GenerationResult,
} from '@dllm/engine';
import type { ChunkJobData, Claim, ItemOutcome } from '@dllm/shared';
import { CancelWatcher } from './cancel-watcher';
import { ChunkProcessor, type GenerationEngine } from './chunk-processor';

const params = parseGenerationParams({ gen_length: 4 });
const claim = (prompts: Array<string | null>): Claim => ({
  status: 'in_progress',
  model: 'm',
  createdAt: new Date(Date.now() - 1000),
  items: prompts.map((prompt, index) => ({
    index,
    customId: `c${index}`,
    prompt,
    prefix: prompt === null ? 'a' : null,
    suffix: prompt === null ? 'b' : null,
    params,
    attempts: 1,
    isolatedRuns: 0,
  })),
});
const ok = (text: string): GenerationResult => ({
  text,
  finish_reason: 'length',
  steps: 3,
  tokens: 4,
  prompt_tokens: 2,
  queue_ms: 5,
  compute_ms: 7,
  seed: 1,
  provider: 'webgpu',
  budget: 'fixed',
  applied_threshold: 0.9,
  applied_max_steps: 4,
});
const job = {
  id: 'j',
  data: { batchId: 'b', chunk: 0, firstIndex: 0, lastIndex: 2 },
} as Job<ChunkJobData>;

/** An engine whose rows run until aborted (then end "cancelled"); `gate` opens once a row started. */
function runsUntilAborted(): { engine: GenerationEngine; gate: Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const engine: GenerationEngine = {
    generate: (_r, opts) =>
      new Promise((resolve) => {
        opts?.signal?.addEventListener('abort', () =>
          resolve({ ...ok(''), finish_reason: 'cancelled' }),
        );
        release();
      }),
  };
  return { engine, gate };
}

function setup(
  engine: GenerationEngine,
  c: Claim | null,
  ended: Set<number> = new Set(),
  more: Partial<ConstructorParameters<typeof ChunkProcessor>[0]> = {},
) {
  const written: ItemOutcome[] = [];
  /** write-ahead counts of runs alone, by item index */
  const isolated = new Map<number, number>();
  const cancels = new CancelWatcher({} as never);
  const processor = new ChunkProcessor({
    progress: {
      claimItems: async () => c,
      countIsolatedRun: async (_b, index) => {
        if (ended.has(index)) return null;
        isolated.set(index, (isolated.get(index) ?? 0) + 1);
        return isolated.get(index)!;
      },
    },
    engine,
    writer: { write: async (o) => void written.push(o) },
    cancels,
    workerId: 'w1',
    log: pino({ level: 'silent' }),
    poisonRuns: 2,
    suspectAfterStalls: 2,
    ...more,
  });
  return { processor, written, cancels, isolated };
}

const promptOf = (r: GenerationRequest) => ('prompt' in r.task ? r.task.prompt : r.task.prefix);

/**
 * An engine whose thread "dies" whenever a row with prompt `poison` is in it: every row in flight
 * at that moment is rejected with EngineCrashedError, as the real Engine does.
 */
function crashingEngine(poison: string): {
  engine: GenerationEngine;
  runs: Array<{ prompt: string; alone: boolean }>;
} {
  const runs: Array<{ prompt: string; alone: boolean }> = [];
  let inFlight: Array<{ reject: (e: Error) => void }> = [];
  const engine: GenerationEngine = {
    generate: async (r: GenerationRequest, opts?: GenerateOptions) => {
      if (opts?.alone) await opts.beforeStart?.();
      return new Promise<GenerationResult>((resolve, reject) => {
        runs.push({ prompt: promptOf(r), alone: opts?.alone === true });
        inFlight.push({ reject });
        setImmediate(() => {
          if (inFlight.length === 0) return;
          if (runs.slice(-inFlight.length).some((x) => x.prompt === poison)) {
            for (const f of inFlight)
              f.reject(new EngineCrashedError('engine thread died: injected'));
            inFlight = [];
          } else {
            inFlight = inFlight.filter((f) => f.reject !== reject);
            resolve(ok(`out:${promptOf(r)}`));
          }
        });
      });
    },
  };
  return { engine, runs };
}

describe('ChunkProcessor', () => {
  it('runs every claimed item and writes each result with its timings', async () => {
    const seen: GenerationRequest[] = [];
    const { processor, written } = setup(
      { generate: async (r) => (seen.push(r), ok('x')) },
      claim(['p0', null]),
    );
    const summary = await processor.process(job);
    expect(summary).toMatchObject({ items: 2, completed: 2, failed: 0 });
    expect(seen.map((r) => r.task)).toEqual([{ prompt: 'p0' }, { prefix: 'a', suffix: 'b' }]);
    expect(written[0]).toMatchObject({
      batchId: 'b',
      index: 0,
      status: 'completed',
      output: 'x',
      steps: 3,
      tokens: 4,
      workerId: 'w1',
      computeMs: 7,
      provider: 'webgpu',
    });
    expect(written[0]!.queueMs).toBeGreaterThanOrEqual(1000); // counted from the batch's submission
  });

  it('fails an item alone when the engine rejects it; the others complete', async () => {
    const engine: GenerationEngine = {
      generate: async (r) =>
        'prompt' in r.task && r.task.prompt === 'bad'
          ? Promise.reject(new GenerationError('prompt is too long'))
          : ok('y'),
    };
    const { processor, written } = setup(engine, claim(['ok', 'bad', 'ok']));
    expect(await processor.process(job)).toMatchObject({ completed: 2, failed: 1 });
    expect(written.find((w) => w.index === 1)).toMatchObject({
      status: 'failed',
      failureReason: 'invalid_request',
      error: 'invalid_request: prompt is too long',
    });
  });

  it('fails an item whose stored params do not parse, unrun and not held by the budget', async () => {
    const c = claim(['a', 'b', 'c']);
    c.items[1]!.params = { gen_length: -1 };
    const seen: string[] = [];
    const held: string[] = [];
    const budget = {
      hold: (key: string) => void held.push(key),
      release: () => undefined,
      rowEnded: () => undefined,
      nudge: async () => undefined,
    };
    const { processor, written } = setup(
      { generate: async (r) => (seen.push(promptOf(r)), ok('z')) },
      c,
      new Set(),
      { budget },
    );
    expect(await processor.process(job)).toMatchObject({ completed: 2, failed: 1 });
    expect(seen).toEqual(['a', 'c']);
    expect(held).toEqual(['b:0', 'b:2']);
    const failed = written.find((w) => w.index === 1);
    expect(failed).toMatchObject({ status: 'failed', failureReason: 'invalid_request' });
    expect(failed?.error).toMatch(/^invalid_request: params\.gen_length: /);
  });

  it('parses params once per claim: a row run again after a crash gets the same parsed params', async () => {
    const got: unknown[] = [];
    const engine: GenerationEngine = {
      generate: async (r) => {
        got.push(r.params);
        if (got.length === 1) throw new EngineCrashedError('engine thread died: injected');
        return ok('again');
      },
    };
    const c = claim(['a']);
    c.items[0]!.params = { gen_length: 4 }; // as stored: plain JSON, not yet parsed
    const { processor } = setup(engine, c);
    expect(await processor.process(job)).toMatchObject({ completed: 1 });
    expect(got).toHaveLength(2);
    expect(got[1]).toBe(got[0]);
    expect(got[0]).toEqual(parseGenerationParams({ gen_length: 4 })); // defaults filled
  });

  it('fails the whole chunk (for a retry) when the engine itself breaks', async () => {
    const { processor } = setup(
      { generate: async () => Promise.reject(new Error('engine thread exited')) },
      claim(['a']),
    );
    await expect(processor.process(job)).rejects.toThrow('engine thread exited');
  });

  it('has nothing to do for a finished or unknown batch', async () => {
    const { processor, written } = setup({ generate: async () => ok('z') }, null);
    expect(await processor.process(job)).toMatchObject({ items: 0 });
    expect(written).toEqual([]);
  });

  it('writes cancelled for rows of a cancelled batch', async () => {
    const { engine, gate } = runsUntilAborted();
    const { processor, written, cancels } = setup(engine, claim(['a']));
    const done = processor.process(job);
    await gate;
    cancels.cancel('b');
    expect(await done).toMatchObject({ cancelled: 1 });
    expect(written[0]).toMatchObject({ status: 'cancelled' });
  });

  it('hands a chunk back to the queue, writing nothing, when shutdown interrupts its rows', async () => {
    const { engine, gate } = runsUntilAborted();
    const { processor, written } = setup(engine, claim(['a']));
    const moved: string[] = [];
    const j = {
      ...job,
      moveToWait: async (token?: string) => (moved.push(token ?? ''), 0),
    } as unknown as Job<ChunkJobData>;
    const done = processor.process(j, 'tok');
    await gate;
    processor.handBackAll();
    await expect(done).rejects.toMatchObject({ name: 'WaitingError' });
    expect(moved).toEqual(['tok']);
    expect(written).toEqual([]);
  });

  it('a row whose forward failed alone fails as forward_failed; the others complete', async () => {
    const engine: GenerationEngine = {
      generate: async (r) =>
        promptOf(r) === 'bad'
          ? Promise.reject(new RowForwardError('forward failed for this row alone: boom'))
          : ok('y'),
    };
    const { processor, written } = setup(engine, claim(['ok', 'bad']));
    expect(await processor.process(job)).toMatchObject({ completed: 1, failed: 1 });
    expect(written.find((w) => w.index === 1)).toMatchObject({
      status: 'failed',
      failureReason: 'forward_failed',
    });
  });

  it('when the engine thread dies twice under its rows, reruns them alone: only the poison fails, after 2 counted runs', async () => {
    const { engine, runs } = crashingEngine('poison');
    const { processor, written, isolated } = setup(engine, claim(['a', 'poison', 'b']));
    expect(await processor.process(job)).toMatchObject({
      items: 3,
      completed: 2,
      failed: 1,
      isolated: 3,
    });
    expect(written.find((w) => w.index === 1)).toMatchObject({
      status: 'failed',
      failureReason: 'poison',
      error: expect.stringMatching(/^poison: /) as unknown,
    });
    expect(
      written
        .filter((w) => w.status === 'completed')
        .map((w) => w.output)
        .sort(),
    ).toEqual(['out:a', 'out:b']);
    // each suspect ran alone, one at a time, counted before each run
    expect(runs.filter((r) => r.alone).map((r) => r.prompt)).toEqual([
      'a',
      'poison',
      'poison',
      'b',
    ]);
    expect(Object.fromEntries(isolated)).toEqual({ 0: 1, 1: 2, 2: 1 });
  });

  it('runs a chunk its worker died holding once as usual; after a second death, every item alone', async () => {
    const seen: boolean[] = [];
    const engine: GenerationEngine = {
      generate: async (_r, o) => {
        if (o?.alone) await o.beforeStart?.();
        seen.push(o?.alone === true);
        return ok('z');
      },
    };
    const { processor, isolated } = setup(engine, claim(['a', 'b']));
    expect(
      await processor.process({ ...job, stalledCounter: 1 } as Job<ChunkJobData>),
    ).toMatchObject({ completed: 2, isolated: 0 });
    expect(
      await processor.process({ ...job, stalledCounter: 2 } as Job<ChunkJobData>),
    ).toMatchObject({ completed: 2, isolated: 2 });
    expect(seen).toEqual([false, false, true, true]);
    expect(isolated.size).toBe(2);
  });

  it('a thread death that hit innocent rows once costs no isolation: they simply run again', async () => {
    let deaths = 1;
    const runs: boolean[] = [];
    const engine: GenerationEngine = {
      generate: async (_r, o) => {
        runs.push(o?.alone === true);
        if (deaths > 0) {
          deaths--;
          throw new EngineCrashedError('engine thread died: OOM');
        }
        return ok('z');
      },
    };
    const { processor } = setup(engine, claim(['a']));
    expect(await processor.process(job)).toMatchObject({ completed: 1, isolated: 0 });
    expect(runs).toEqual([false, false]);
  });

  it('skips a suspect another worker ended meanwhile (duplicate delivery), writing nothing for it', async () => {
    const engine: GenerationEngine = {
      generate: async (_r, o) => (await o?.beforeStart?.(), ok('z')),
    };
    const { processor, written } = setup(engine, claim(['a', 'b']), new Set([0]));
    const suspect = { ...job, data: { ...job.data, suspect: true } } as Job<ChunkJobData>;
    expect(await processor.process(suspect)).toMatchObject({ completed: 1, endedElsewhere: 1 });
    expect(written.map((w) => w.index)).toEqual([1]);
  });
});
