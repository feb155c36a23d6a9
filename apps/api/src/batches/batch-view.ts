import type { BatchView, ItemView, ResultLine } from '@dllm/contract';
import type { BatchEntity, BatchItemEntity } from '@dllm/shared';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** The end of a batch's work so far: when it ended, or now while it runs. */
function endOfWork(b: BatchEntity, now: Date): Date {
  return b.completedAt ?? b.failedAt ?? b.cancelledAt ?? b.expiredAt ?? now;
}

/** The public shape of a batch (GET /v1/batches/:id, history, SSE): the contract's BatchView. */
export function batchView(b: BatchEntity, now = new Date()): BatchView {
  // Throughput over wall time since the first item started: what a client actually got.
  const wallMs = b.inProgressAt
    ? Math.max(0, endOfWork(b, now).getTime() - b.inProgressAt.getTime())
    : 0;
  return {
    id: b.id,
    object: 'batch' as const,
    status: b.status,
    model: b.model,
    params: b.params,
    metadata: b.metadata,
    completion_window: b.completionWindow,
    retry_of: b.retryOf,
    retried_by: b.retriedBy,
    input_file_id: b.inputFileId,
    request_counts: {
      total: b.totalCount,
      completed: b.completedCount,
      failed: b.failedCount,
      cancelled: b.cancelledCount,
      expired: b.expiredCount,
    },
    created_at: b.createdAt.toISOString(),
    enqueued_at: iso(b.enqueuedAt),
    in_progress_at: iso(b.inProgressAt),
    completed_at: iso(b.completedAt),
    failed_at: iso(b.failedAt),
    cancelling_at: iso(b.cancellingAt),
    cancelled_at: iso(b.cancelledAt),
    expired_at: iso(b.expiredAt),
    expires_at: b.expiresAt.toISOString(),
    usage: { prompt_tokens: b.totalPromptTokens, completion_tokens: b.totalTokens },
    timing: {
      tokens: b.totalTokens,
      wall_ms: wallMs,
      tokens_per_second: wallMs > 0 ? round((b.totalTokens * 1000) / wallMs, 2) : null,
      mean_forwards_per_item: b.timedCount > 0 ? round(b.totalForwards / b.timedCount, 2) : null,
      mean_queue_ms: b.timedCount > 0 ? round(b.totalQueueMs / b.timedCount, 1) : null,
      compute_ms: b.totalComputeMs,
    },
  };
}

export type { BatchView };

/** A results line: the outcome of one ended item, without echoing its input. */
export function resultLine(i: BatchItemEntity): ResultLine {
  return {
    index: i.index,
    custom_id: i.customId,
    status: i.status,
    output: i.output,
    finish_reason: i.finishReason,
    steps: i.steps,
    tokens: i.tokens,
    prompt_tokens: i.promptTokens,
    queue_ms: i.queueMs,
    compute_ms: i.computeMs,
    provider: i.provider,
    seed: i.seed,
    // the step budget it ran under and the setting it actually used (auto: the controller's pick)
    budget: i.budget,
    applied_threshold: i.appliedThreshold,
    applied_max_steps: i.appliedMaxSteps,
    error: i.error,
    failure_reason: i.failureReason,
  };
}

/** One item with its result so far (GET /v1/batches/:id/items): its outcome plus its input. */
export function itemView(i: BatchItemEntity): ItemView {
  return {
    ...resultLine(i),
    ...(i.prompt !== null ? { prompt: i.prompt } : { prefix: i.prefix, suffix: i.suffix }),
    params: i.params,
    attempts: i.attempts,
    started_at: iso(i.startedAt),
    finished_at: iso(i.finishedAt),
  };
}

const OPENAI_ERROR_CODES: Record<string, string> = {
  failed: 'generation_failed',
  cancelled: 'batch_cancelled',
  expired: 'batch_expired',
};

/**
 * A line of an OpenAI batch output (completed items) or error file (the others), its response
 * body in the shape of the batch's endpoint (/v1/completions or /v1/chat/completions).
 */
export function openAiResultLine(
  i: BatchItemEntity,
  batch: Pick<BatchEntity, 'id' | 'model' | 'endpoint'>,
) {
  const id = `batch_req_${batch.id}_${i.index}`;
  if (i.status !== 'completed') {
    return {
      id,
      custom_id: i.customId,
      response: null,
      error: {
        code: OPENAI_ERROR_CODES[i.status] ?? i.status,
        message: i.error ?? `the request ended as ${i.status} before it ran`,
      },
    };
  }
  return {
    id,
    custom_id: i.customId,
    response: {
      status_code: 200,
      request_id: id,
      body: openAiResponseBody(batch.endpoint, {
        id: `${batch.id}-${i.index}`,
        created: Math.floor((i.finishedAt ?? new Date()).getTime() / 1000),
        model: batch.model,
        text: i.output ?? '',
        finishReason: i.finishReason,
        promptTokens: i.promptTokens ?? 0,
        completionTokens: i.tokens ?? 0,
      }),
    },
    error: null,
  };
}

/** One generation as the response body of an OpenAI endpoint (batch output line or sync reply). */
export function openAiResponseBody(
  endpoint: string | null,
  r: {
    id: string;
    created: number;
    model: string;
    text: string;
    finishReason: string | null;
    promptTokens: number;
    completionTokens: number;
  },
) {
  const usage = {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
  };
  if (endpoint === '/v1/chat/completions') {
    return {
      id: `chatcmpl-${r.id}`,
      object: 'chat.completion' as const,
      created: r.created,
      model: r.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant' as const, content: r.text, refusal: null },
          logprobs: null,
          finish_reason: r.finishReason,
        },
      ],
      usage,
    };
  }
  return {
    id: `cmpl-${r.id}`,
    object: 'text_completion' as const,
    created: r.created,
    model: r.model,
    choices: [{ text: r.text, index: 0, logprobs: null, finish_reason: r.finishReason }],
    usage,
  };
}
