import type { ChunkJobData } from './chunk-queue';

/**
 * Interactive work (POST /v1/completions, /v1/chat/completions): one-item batches in queues of
 * their own, one per model (`dllm-interactive.<model>`), which every worker serving that model
 * consumes with its own slots (INTERACTIVE_CONCURRENCY), so a request never waits behind bulk
 * chunks in Redis, and only reaches a worker that has its model.
 */
export const INTERACTIVE_QUEUE = 'dllm-interactive';

export function interactiveQueueName(model: string): string {
  return `${INTERACTIVE_QUEUE}.${model}`;
}
export const INTERACTIVE_JOB = 'completion';

/** A one-item chunk; a request that streams asks its canvases by intermediate_every. */
export type InteractiveJobData = ChunkJobData;

// Job and worker options of both queues: their rows in the queue table (queues.ts).

/** Completion webhooks: one job per ended batch that asked for one, delivered by the API. */
export const WEBHOOK_QUEUE = 'dllm-webhooks';
export const WEBHOOK_JOB = 'batch-ended';

export interface WebhookJobData {
  batchId: string;
}
