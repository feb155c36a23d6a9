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

/** Interactive jobs: a user waits, so few quick retries (the request times out anyway). */
export const INTERACTIVE_JOB_OPTIONS = {
  attempts: 2,
  backoff: { type: 'fixed', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600 },
} as const;

/** Completion webhooks: one job per ended batch that asked for one, delivered by the API. */
export const WEBHOOK_QUEUE = 'dllm-webhooks';
export const WEBHOOK_JOB = 'batch-ended';

export interface WebhookJobData {
  batchId: string;
}
