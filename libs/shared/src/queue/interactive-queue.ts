import type { ChunkJobData } from './chunk-queue';

/**
 * Interactive work (POST /v1/completions, /v1/chat/completions): one-item batches in a queue of
 * their own, which every worker consumes with its own slots (INTERACTIVE_CONCURRENCY), so a
 * request never waits behind bulk chunks in Redis.
 */
export const INTERACTIVE_QUEUE = 'dllm-interactive';
export const INTERACTIVE_JOB = 'completion';

export interface InteractiveJobData extends ChunkJobData {
  /** publish the canvas as it denoises (the request streams) */
  stream: boolean;
}

/** Interactive jobs: a user waits, so few quick retries (the request times out anyway). */
export const INTERACTIVE_JOB_OPTIONS = {
  attempts: 2,
  backoff: { type: 'fixed', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600 },
} as const;

/** Redis pub/sub channel of one interactive batch's progress (worker -> API). */
export function generationChannel(queuePrefix: string, batchId: string): string {
  return `${queuePrefix}:generation:${batchId}`;
}

/** What a worker publishes on a generation channel. */
export type GenerationEvent =
  | {
      type: 'canvas';
      /** forwards so far */
      step: number;
      /** the canvas as text, masked positions shown as MASK_PLACEHOLDER */
      text: string;
      masked: number;
      /** the text before the first masked position: it can no longer change */
      settled: string;
    }
  /** the item's outcome is in Postgres (or its try ended; the API rereads the item) */
  | { type: 'ended' };

/** Completion webhooks: one job per ended batch that asked for one, delivered by the API. */
export const WEBHOOK_QUEUE = 'dllm-webhooks';
export const WEBHOOK_JOB = 'batch-ended';

export interface WebhookJobData {
  batchId: string;
}
