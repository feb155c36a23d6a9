import type { BatchEntity } from '@dllm/shared';
import { openAiBatchView } from './openai-batch-view';

const at = (s: string) => new Date(`2026-01-01T00:00:${s}Z`);
const batch = (over: Partial<BatchEntity>) =>
  ({
    id: 'b1',
    status: 'in_progress',
    model: 'dllm-code-small',
    metadata: { run: 'x' },
    completionWindow: 86_400,
    endpoint: '/v1/chat/completions',
    inputFileId: 'file-1',
    outputFileId: null,
    errorFileId: null,
    totalCount: 10,
    completedCount: 6,
    failedCount: 1,
    cancelledCount: 2,
    expiredCount: 1,
    totalTokens: 60,
    totalPromptTokens: 40,
    createdAt: at('00'),
    inProgressAt: at('01'),
    expiresAt: new Date('2026-01-02T00:00:00Z'),
    completedAt: null,
    failedAt: null,
    cancellingAt: null,
    cancelledAt: null,
    expiredAt: null,
    ...over,
  }) as BatchEntity;

describe('openAiBatchView', () => {
  it("is OpenAI's batch object: unix seconds, hours, counts of completed and failed", () => {
    expect(openAiBatchView(batch({}))).toMatchObject({
      id: 'b1',
      object: 'batch',
      endpoint: '/v1/chat/completions',
      input_file_id: 'file-1',
      completion_window: '24h',
      status: 'in_progress',
      created_at: 1767225600,
      in_progress_at: 1767225601,
      expires_at: 1767312000,
      request_counts: { total: 10, completed: 6, failed: 4 },
      usage: { input_tokens: 40, output_tokens: 60, total_tokens: 100 },
      metadata: { run: 'x' },
    });
  });

  it('shows waiting as in_progress, and a batch whose items all failed as completed', () => {
    expect(openAiBatchView(batch({ status: 'queued', inProgressAt: null })).status).toBe(
      'in_progress',
    );
    const failed = openAiBatchView(
      batch({ status: 'failed', failedAt: at('09'), errorFileId: 'file-e' }),
    );
    expect(failed).toMatchObject({
      status: 'completed',
      completed_at: 1767225609,
      failed_at: null,
      error_file_id: 'file-e',
    });
  });
});
