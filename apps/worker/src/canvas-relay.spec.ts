import type { Job } from 'bullmq';
import pino from 'pino';
import { parseGenerationParams, type GenerationResult } from '@dllm/engine';
import type { CanvasFrame, ChunkJobData, Claim } from '@dllm/shared';
import { CancelWatcher } from './cancel-watcher';
import { ChunkProcessor, type GenerationEngine } from './chunk-processor';

const item = (index: number, intermediateEvery: number) => ({
  index,
  customId: `c${index}`,
  prompt: 'def f():',
  prefix: null,
  suffix: null,
  params: parseGenerationParams({ gen_length: 2, intermediate_every: intermediateEvery }),
  attempts: 1,
  isolatedRuns: 0,
});
const claim: Claim = {
  status: 'in_progress',
  model: 'm',
  createdAt: new Date(),
  items: [item(0, 1), item(1, 0)],
};
const result: GenerationResult = {
  text: 'ab',
  finish_reason: 'length',
  steps: 2,
  tokens: 2,
  prompt_tokens: 3,
  queue_ms: 0,
  compute_ms: 1,
  seed: 1,
  budget: 'fixed',
  applied_threshold: 0.9,
  applied_max_steps: 2,
};
const job = {
  id: 'j',
  data: { batchId: 'b', chunk: 0, firstIndex: 0, lastIndex: 1 },
} as Job<ChunkJobData>;

describe('ChunkProcessor relays intermediate canvases', () => {
  it('of items that ask for them (intermediate_every > 0), tagged with the item index', async () => {
    const published: { batchId: string; frame: CanvasFrame }[] = [];
    const engine: GenerationEngine = {
      generate: async (_request, opts) => {
        opts?.onIntermediate?.({ step: 1, text: 'a▒', masked: 1 });
        opts?.onIntermediate?.({ step: 2, text: 'ab', masked: 0 });
        return result;
      },
    };
    const processor = new ChunkProcessor({
      progress: { claimItems: async () => claim, countIsolatedRun: async () => 1 },
      engine,
      writer: { write: async () => undefined },
      cancels: new CancelWatcher({} as never),
      workerId: 'w',
      log: pino({ level: 'silent' }),
      canvases: { publish: (batchId, frame) => void published.push({ batchId, frame }) },
      poisonRuns: 2,
      suspectAfterStalls: 2,
    });
    expect(await processor.process(job)).toMatchObject({ completed: 2 });
    expect(published).toEqual([
      { batchId: 'b', frame: { index: 0, step: 1, text: 'a▒', masked: 1 } },
      { batchId: 'b', frame: { index: 0, step: 2, text: 'ab', masked: 0 } },
    ]);
  });
});
