import type { BatchEntity, BatchItemEntity } from '@dllm/shared';
import { batchView, openAiResultLine, resultLine } from './batch-view';

const batch = (over: Partial<BatchEntity> = {}): BatchEntity => ({
  id: 'b1',
  tenant: 't',
  apiKeyId: 'k',
  status: 'completed',
  model: 'dllm-code-small',
  params: {},
  metadata: {},
  completionWindow: 86_400,
  expiresAt: new Date('2026-01-02T00:00:00Z'),
  idempotencyKey: null,
  requestHash: null,
  retryOf: null,
  retriedBy: null,
  origin: 'native',
  endpoint: null,
  inputFileId: null,
  outputFileId: null,
  errorFileId: null,
  webhookUrl: null,
  webhookEnqueuedAt: null,
  webhookDeliveredAt: null,
  endedEventAt: null,
  resultsPurgedAt: null,
  canvasItems: 0,
  totalCount: 4,
  completedCount: 4,
  failedCount: 0,
  cancelledCount: 0,
  expiredCount: 0,
  totalTokens: 400,
  totalPromptTokens: 40,
  totalComputeMs: 3000,
  totalForwards: 30,
  totalQueueMs: 200,
  timedCount: 4,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  enqueuedAt: new Date('2026-01-01T00:00:00.050Z'),
  chunkSize: 32,
  inProgressAt: new Date('2026-01-01T00:00:01Z'),
  completedAt: new Date('2026-01-01T00:00:03Z'),
  failedAt: null,
  cancellingAt: null,
  cancelledAt: null,
  expiredAt: null,
  ...over,
});

describe('batchView', () => {
  it('summarises timing: tokens/s over wall time since work started, means per timed item', () => {
    expect(batchView(batch()).timing).toEqual({
      tokens: 400,
      wall_ms: 2000,
      tokens_per_second: 200,
      mean_forwards_per_item: 7.5,
      mean_queue_ms: 50,
      compute_ms: 3000,
    });
  });

  it('measures a running batch up to now, and has no rates before work starts', () => {
    const running = batch({ status: 'in_progress', completedAt: null });
    expect(batchView(running, new Date('2026-01-01T00:00:05Z')).timing.wall_ms).toBe(4000);
    const queued = batch({
      status: 'queued',
      inProgressAt: null,
      completedAt: null,
      totalTokens: 0,
      timedCount: 0,
    });
    expect(batchView(queued).timing).toMatchObject({
      tokens_per_second: null,
      mean_forwards_per_item: null,
      mean_queue_ms: null,
    });
  });
});

describe('openAiResultLine', () => {
  const item = (over: Partial<BatchItemEntity>) =>
    ({
      batchId: 'b1',
      index: 3,
      customId: 'c3',
      status: 'completed',
      output: 'x',
      finishReason: 'length',
      tokens: 8,
      promptTokens: 2,
      error: null,
      finishedAt: new Date('2026-01-01T00:00:03Z'),
      ...over,
    }) as BatchItemEntity;

  it('maps a completed item to a 200 text_completion body', () => {
    expect(openAiResultLine(item({}), batch())).toEqual({
      id: 'batch_req_b1_3',
      custom_id: 'c3',
      response: {
        status_code: 200,
        request_id: 'batch_req_b1_3',
        body: {
          id: 'cmpl-b1-3',
          object: 'text_completion',
          created: 1767225603,
          model: 'dllm-code-small',
          choices: [{ text: 'x', index: 0, logprobs: null, finish_reason: 'length' }],
          usage: { prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 },
        },
      },
      error: null,
    });
  });

  it('maps an expired item to an error line, as OpenAI reports requests a batch did not run', () => {
    expect(openAiResultLine(item({ status: 'expired', output: null }), batch())).toMatchObject({
      response: null,
      error: { code: 'batch_expired', message: 'the request ended as expired before it ran' },
    });
  });
});

describe('resultLine', () => {
  it('carries the execution provider that ran the item', () => {
    const line = resultLine({
      index: 0,
      customId: 'a',
      status: 'completed',
      provider: 'webgpu',
    } as BatchItemEntity);
    expect(line).toMatchObject({ index: 0, custom_id: 'a', provider: 'webgpu' });
  });

  it('carries the step budget and the setting the item actually ran with', () => {
    const line = resultLine({
      index: 0,
      customId: 'a',
      status: 'completed',
      budget: 'auto',
      appliedThreshold: 0.6,
      appliedMaxSteps: 64,
    } as BatchItemEntity);
    expect(line).toMatchObject({ budget: 'auto', applied_threshold: 0.6, applied_max_steps: 64 });
  });
});
