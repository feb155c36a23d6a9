import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  batchEventsKey,
  TERMINAL_ITEM_STATUSES,
  type BatchEvent,
  type BatchItemEntity,
  type CanvasFrame,
  type Config,
  type ItemEnded,
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
  modelNamed,
  type OpenAiEndpoint,
  type Submission,
  type SubmissionRules,
} from '../batches/submission/submission';
import { ApiError } from '../common/api-error';
import { CONFIG } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { BatchEventReader } from '../events/batch-event-reader';
import { REDIS } from '../redis/redis.module';
import { CompletionStream } from './completion-stream';
import { InteractiveEnqueuer } from './interactive-enqueuer';

/** How a request's wait ended. */
type Wait =
  | { kind: 'ended'; item: ItemEnded }
  /** its batch ended without an item-ended event here (re-announced): read Postgres */
  | { kind: 'batch-ended' }
  | { kind: 'timeout' }
  | { kind: 'gone' };

/**
 * POST /v1/completions and /v1/chat/completions: the request becomes a one-item batch (origin
 * "interactive", hidden from history) in the interactive queue, which workers take ahead of bulk
 * chunks. The reply is a fold over the batch's event stream, followed by the process's one event
 * reader: canvases (streamed as SSE when asked), then item-ended with the result. Should only
 * the batch's end be heard (an event lost and announced again by the repair loop), the item is
 * read from Postgres.
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly batches: BatchesService,
    private readonly repository: BatchesRepository,
    private readonly enqueuer: InteractiveEnqueuer,
    private readonly events: BatchEventReader,
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
    let output: CompletionStream | undefined;
    const early: CanvasFrame[] = []; // canvases that came before the reply started
    let settle!: (wait: Wait) => void;
    const waited = new Promise<Wait>((resolve) => (settle = resolve));
    res.once('close', () => {
      if (!res.writableFinished) settle({ kind: 'gone' }); // the client went away: stop its row
    });
    // the key was revoked (its reply is already sent): stop the row as for a client gone
    req.keyRevoked?.addEventListener('abort', () => settle({ kind: 'gone' }), { once: true });
    // Watching before the batch exists: its stream is read from the first entry.
    const unwatch = await this.events.watch(id, '0-0', (event: BatchEvent) => {
      if (event.type === 'canvas') {
        if (output) output.canvas(event.frame);
        else if (stream) early.push(event.frame);
      } else if (event.type === 'item-ended' && event.item.index === 0) {
        settle({ kind: 'ended', item: event.item });
      } else if (event.type === 'batch-ended') settle({ kind: 'batch-ended' });
    });
    const deadline = setTimeout(
      () => settle({ kind: 'timeout' }),
      this.config.COMPLETION_TIMEOUT_MS,
    );
    try {
      const { batch, enqueued } = await this.batches.accept(
        principal,
        submission,
        { id, origin: 'interactive', enqueue: (b) => this.enqueuer.enqueue(b) },
        req.log,
      );
      if (!enqueued) {
        await this.batches.stop(id); // or the reconciler would run it later for nobody
        throw new ApiError(503, 'queue_unavailable', 'the work queue is unavailable; try again');
      }
      const created = Math.floor(batch.createdAt.getTime() / 1000);
      output = stream
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
      for (const frame of early.splice(0)) output?.canvas(frame);
      const wait = await waited;
      if (wait.kind === 'timeout') {
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
      if (wait.kind === 'gone') {
        await this.batches.stop(id); // client gone: free the row for others
        return undefined;
      }
      const outcome = wait.kind === 'ended' ? wait.item : await this.readOutcome(id);
      if (!outcome) {
        // announced as ended, yet no ended item in Postgres: nothing to give but an error
        throw new ApiError(502, 'generation_failed', 'the generation failed: no result was stored');
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
        finishReason: outcome.finish_reason,
        promptTokens: outcome.prompt_tokens ?? 0,
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
          queue_ms: outcome.queue_ms,
          compute_ms: outcome.compute_ms,
        },
      };
    } finally {
      clearTimeout(deadline);
      unwatch();
      // the stream was for this request only
      void this.redis.del(batchEventsKey(this.config.QUEUE_PREFIX, id)).catch(() => undefined);
    }
  }

  /** The request's one item as Postgres has it, when it has ended. */
  private async readOutcome(id: string): Promise<ItemEnded | undefined> {
    const [row] = await this.repository.itemsPage(id, { afterIndex: -1, limit: 1 });
    if (!row || !(TERMINAL_ITEM_STATUSES as readonly string[]).includes(row.status)) return;
    return fromRow(row);
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
    const model = modelNamed(this.rules, data.model);
    const gen = openAiGeneration(endpoint, body as Record<string, unknown>, '', model);
    if ('problem' in gen) {
      problems.add(gen.problem);
      problems.throwIfAny('request');
      throw new Error('unreachable');
    }
    // streaming needs the canvas after every forward (settled text, or the whole canvas)
    if (stream) gen.params.intermediate_every ??= 1;
    const builder = new ItemBuilder(this.rules, problems, model);
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
      model: model.name,
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

  private failure(item: ItemEnded): ApiError {
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

function fromRow(row: BatchItemEntity): ItemEnded {
  return {
    index: row.index,
    status: row.status as ItemEnded['status'],
    finish_reason: row.finishReason,
    steps: row.steps,
    tokens: row.tokens,
    prompt_tokens: row.promptTokens,
    queue_ms: row.queueMs,
    compute_ms: row.computeMs,
    seed: row.seed,
    error: row.error,
    output: row.output,
  };
}
