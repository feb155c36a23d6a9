import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import {
  CANVAS_FRAME_FIELD,
  canvasStreamKey,
  TERMINAL_ITEM_STATUSES,
  type BatchItemEntity,
  type CanvasFrame,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import type { Principal } from '../auth/principal';
import { openAiResponseBody } from '../batches/batch-view';
import { BatchesRepository } from '../batches/batches.repository';
import { BatchesService } from '../batches/batches.service';
import { openAiGeneration } from '../batches/submission/openai-request';
import { Problems } from '../batches/submission/problems';
import { schemasFor } from '../batches/submission/schemas-for';
import { SUBMISSION_RULES } from '../batches/submission/submission-rules.provider';
import {
  ItemBuilder,
  type OpenAiEndpoint,
  type Submission,
  type SubmissionRules,
} from '../batches/submission/submission';
import { ApiError } from '../common/api-error';
import { CONFIG } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { REDIS } from '../redis/redis.module';
import { CompletionStream } from './completion-stream';
import { InteractiveEnqueuer } from './interactive-enqueuer';

/** How often a waiting request reads its item's outcome (a primary-key read). */
const OUTCOME_EVERY_MS = 100;
/** How often a streaming request reads new canvases (a step of the bundled model takes ~10 ms). */
const FRAMES_EVERY_MS = 40;

/**
 * POST /v1/completions and /v1/chat/completions: the request becomes a one-item batch (origin
 * "interactive", hidden from history) in the interactive queue, which workers take ahead of bulk
 * chunks; the reply waits for its result in Postgres, or streams it (SSE) from the canvases the
 * worker appends to the batch's Redis stream (the same relay as GET /v1/batches/:id/canvas).
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly batches: BatchesService,
    private readonly repository: BatchesRepository,
    private readonly enqueuer: InteractiveEnqueuer,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(SUBMISSION_RULES) private readonly rules: SubmissionRules,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async complete(
    principal: Principal,
    endpoint: OpenAiEndpoint,
    body: unknown,
    req: HttpRequest,
    res: HttpResponse,
  ): Promise<unknown> {
    const request = this.validate(endpoint, body);
    const { submission, stream, diffusing, includeUsage } = request;
    const item = submission.items[0]!;
    const id = randomUUID();
    const started = Date.now();
    const gone = new AbortController(); // the client went away: stop its row
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const frames = canvasStreamKey(this.config.QUEUE_PREFIX, id);
    let outcome: BatchItemEntity | undefined;
    try {
      const { batch } = await this.batches.accept(
        principal,
        submission,
        { id, origin: 'interactive', enqueue: (b) => this.enqueuer.enqueue(b.id) },
        req.log,
      );
      if (!batch.enqueuedAt) {
        await this.batches.stop(id); // or the reconciler would run it later for nobody
        throw new ApiError(503, 'queue_unavailable', 'the work queue is unavailable; try again');
      }
      const created = Math.floor(batch.createdAt.getTime() / 1000);
      const output = stream
        ? new CompletionStream(res, {
            endpoint,
            id: `${endpoint === '/v1/chat/completions' ? 'chatcmpl' : 'cmpl'}-${id}`,
            created,
            model: submission.model,
            diffusing,
            stop: item.params.stop ?? [],
            includeUsage,
          })
        : undefined;
      output?.start();
      const deadline = started + this.config.COMPLETION_TIMEOUT_MS;
      let cursor = '0-0';
      let lastRead = 0;
      while (!gone.signal.aborted) {
        if (output) cursor = await this.relayFrames(frames, cursor, output);
        if (Date.now() - lastRead >= OUTCOME_EVERY_MS) {
          lastRead = Date.now();
          const [row] = await this.repository.itemsPage(id, { afterIndex: -1, limit: 1 });
          if (row && (TERMINAL_ITEM_STATUSES as readonly string[]).includes(row.status)) {
            outcome = row;
            break;
          }
        }
        if (Date.now() > deadline) {
          await this.batches.stop(id);
          const error = new ApiError(
            504,
            'completion_timeout',
            `no worker finished the request within ${this.config.COMPLETION_TIMEOUT_MS / 1000} s (COMPLETION_TIMEOUT_MS); it was cancelled`,
          );
          if (!output) throw error;
          output.fail(error.code, error.message);
          return undefined;
        }
        await sleep(output ? FRAMES_EVERY_MS : OUTCOME_EVERY_MS);
      }
      if (!outcome) {
        await this.batches.stop(id); // client gone: free the row for others
        return undefined;
      }
      req.log?.info(
        { batch_id: id, status: outcome.status, ms: Date.now() - started, stream },
        'completion served',
      );
      if (outcome.status !== 'completed') {
        const error = this.failure(outcome);
        if (!output) throw error;
        output.fail(error.code, error.message);
        return undefined;
      }
      const result = {
        text: outcome.output ?? '',
        finishReason: outcome.finishReason,
        promptTokens: outcome.promptTokens ?? 0,
        completionTokens: outcome.tokens ?? 0,
      };
      if (output) {
        output.finish(result);
        return undefined;
      }
      return {
        ...openAiResponseBody(endpoint, {
          id,
          created,
          model: submission.model,
          ...result,
        }),
        /** extension: what the diffusion took */
        diffusion: {
          steps: outcome.steps,
          seed: outcome.seed,
          queue_ms: outcome.queueMs,
          compute_ms: outcome.computeMs,
        },
      };
    } finally {
      // the frames were for this request only
      if (stream) void this.redis.del(frames).catch(() => undefined);
    }
  }

  /** Passes the canvases the worker appended since `cursor` to the stream; returns the new cursor. */
  private async relayFrames(
    key: string,
    cursor: string,
    output: CompletionStream,
  ): Promise<string> {
    let reply: [string, [string, string[]][]][] | null;
    try {
      reply = await this.redis.xread('COUNT', 500, 'STREAMS', key, cursor);
    } catch {
      return cursor; // Redis away: canvases are a view, the outcome still comes from Postgres
    }
    for (const [entry, fields] of reply?.[0]?.[1] ?? []) {
      cursor = entry;
      const at = fields.indexOf(CANVAS_FRAME_FIELD);
      if (at >= 0) output.canvas(JSON.parse(fields[at + 1]!) as CanvasFrame);
    }
    return cursor;
  }

  /** The request as a one-item submission, or a 400 naming each bad field. */
  private validate(endpoint: OpenAiEndpoint, body: unknown) {
    const schemas = schemasFor(this.rules).openai;
    const problems = new Problems();
    const parsed = (
      endpoint === '/v1/chat/completions' ? schemas.chat : schemas.completion
    ).safeParse(body ?? {});
    if (!parsed.success) {
      problems.addZod(parsed.error, '');
      problems.throwIfAny('request');
    }
    const data = parsed.data as {
      model?: string;
      stream?: boolean;
      diffusing?: boolean;
      stream_options?: { include_usage?: boolean } | null;
    };
    const stream = data.stream === true;
    if (data.diffusing && !stream) {
      problems.add({
        field: 'diffusing',
        message: 'streams the canvas: give stream: true with it',
      });
      problems.throwIfAny('request');
    }
    const gen = openAiGeneration(endpoint, body as Record<string, unknown>, '');
    // streaming needs the canvas after every forward (settled text, or the whole canvas)
    if (stream) gen.params.intermediate_every ??= 1;
    const builder = new ItemBuilder(this.rules, problems);
    const item = builder.build(
      {},
      'completion',
      gen.task,
      gen.taskField,
      gen.params,
      '',
      gen.rename,
    );
    problems.throwIfAny('request');
    const submission: Submission = {
      model: data.model ?? this.rules.model.name,
      params: {},
      metadata: {},
      completionWindow: Math.max(60, Math.ceil(this.config.COMPLETION_TIMEOUT_MS / 1000)),
      webhookUrl: null,
      endpoint,
      items: [item!],
    };
    return {
      submission,
      stream,
      diffusing: data.diffusing === true,
      includeUsage: data.stream_options?.include_usage === true,
    };
  }

  private failure(item: BatchItemEntity): ApiError {
    if (item.status === 'failed') {
      return new ApiError(
        502,
        'generation_failed',
        `the generation failed: ${item.error ?? 'no reason given'}`,
      );
    }
    return new ApiError(
      504,
      'completion_timeout',
      `the request ended as ${item.status} before it ran`,
    );
  }
}
