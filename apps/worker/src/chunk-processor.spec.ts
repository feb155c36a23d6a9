import type { Job } from 'bullmq';
import pino from 'pino';
import { GenerationError, parseGenerationParams, type GenerationRequest, type GenerationResult } from '@dllm/engine';
import type { ChunkJobData, Claim, ItemOutcome } from '@dllm/shared';
import { CancelWatcher } from './cancel-watcher';
import { ChunkProcessor, type GenerationEngine } from './chunk-processor';

const params = parseGenerationParams({ gen_length: 4 });
const claim = (prompts: Array<string | null>): Claim => ({
  status: 'in_progress',
  model: 'm',
  createdAt: new Date(Date.now() - 1000),
  items: prompts.map((prompt, index) => ({ index, customId: `c${index}`, prompt, prefix: prompt === null ? 'a' : null, suffix: prompt === null ? 'b' : null, params, attempts: 1 })),
});
const ok = (text: string): GenerationResult => ({ text, finish_reason: 'length', steps: 3, tokens: 4, prompt_tokens: 2, queue_ms: 5, compute_ms: 7, seed: 1, provider: 'webgpu' });
const job = { id: 'j', data: { batchId: 'b', chunk: 0, firstIndex: 0, lastIndex: 2 } } as Job<ChunkJobData>;

/** An engine whose rows run until aborted (then end "cancelled"); `gate` opens once a row started. */
function runsUntilAborted(): { engine: GenerationEngine; gate: Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const engine: GenerationEngine = {
    generate: (_r, opts) =>
      new Promise((resolve) => {
        opts?.signal?.addEventListener('abort', () => resolve({ ...ok(''), finish_reason: 'cancelled' }));
        release();
      }),
  };
  return { engine, gate };
}

function setup(engine: GenerationEngine, c: Claim | null) {
  const written: ItemOutcome[] = [];
  const cancels = new CancelWatcher({} as never);
  const processor = new ChunkProcessor({
    progress: { claimItems: async () => c },
    engine,
    writer: { write: async (o) => void written.push(o) },
    cancels,
    workerId: 'w1',
    log: pino({ level: 'silent' }),
  });
  return { processor, written, cancels };
}

describe('ChunkProcessor', () => {
  it('runs every claimed item and writes each result with its timings', async () => {
    const seen: GenerationRequest[] = [];
    const { processor, written } = setup({ generate: async (r) => (seen.push(r), ok('x')) }, claim(['p0', null]));
    const summary = await processor.process(job);
    expect(summary).toMatchObject({ items: 2, completed: 2, failed: 0 });
    expect(seen.map((r) => r.task)).toEqual([{ prompt: 'p0' }, { prefix: 'a', suffix: 'b' }]);
    expect(written[0]).toMatchObject({ batchId: 'b', index: 0, status: 'completed', output: 'x', steps: 3, tokens: 4, workerId: 'w1', computeMs: 7, provider: 'webgpu' });
    expect(written[0]!.queueMs).toBeGreaterThanOrEqual(1000); // counted from the batch's submission
  });

  it('fails an item alone when the engine rejects it; the others complete', async () => {
    const engine: GenerationEngine = { generate: async (r) => ('prompt' in r.task && r.task.prompt === 'bad' ? Promise.reject(new GenerationError('prompt is too long')) : ok('y')) };
    const { processor, written } = setup(engine, claim(['ok', 'bad', 'ok']));
    expect(await processor.process(job)).toMatchObject({ completed: 2, failed: 1 });
    expect(written.find((w) => w.index === 1)).toMatchObject({ status: 'failed', error: 'prompt is too long' });
  });

  it('fails the whole chunk (for a retry) when the engine itself breaks', async () => {
    const { processor } = setup({ generate: async () => Promise.reject(new Error('engine thread exited')) }, claim(['a']));
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
    const j = { ...job, moveToWait: async (token?: string) => (moved.push(token ?? ''), 0) } as unknown as Job<ChunkJobData>;
    const done = processor.process(j, 'tok');
    await gate;
    processor.handBackAll();
    await expect(done).rejects.toMatchObject({ name: 'WaitingError' });
    expect(moved).toEqual(['tok']);
    expect(written).toEqual([]);
  });
});
