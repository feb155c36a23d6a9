import { setMaxListeners } from 'node:events';
import type { Job } from 'bullmq';
import { WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import {
  EngineCrashedError,
  GenerationError,
  parseGenerationParams,
  RowForwardError,
  type GenerateOptions,
  type GenerationParams,
  type GenerationRequest,
  type GenerationResult,
  type IntermediateState,
} from '@dllm/engine';
import {
  FAILURE_REASONS,
  failureMessage,
  type BatchProgressRepository,
  type ChunkJobData,
  type Claim,
  type ClaimedItem,
  type ItemOutcome,
} from '@dllm/shared';
import type { BudgetLoop } from '@dllm/engine/budget';
import type { CancelWatcher } from './cancel-watcher';
import type { CanvasRelay } from './canvas-relay';
import { IsolationLane } from './isolation-lane';
import type { WorkerMetrics } from './metrics';
import type { ResultWriter } from './result-writer';

/** What the processor needs of the engine (the real Engine, or a stand-in in tests). */
export interface GenerationEngine {
  generate(request: GenerationRequest, opts?: GenerateOptions): Promise<GenerationResult>;
}

export interface ChunkSummary {
  batchId: string;
  chunk: number;
  items: number;
  completed: number;
  failed: number;
  cancelled: number;
  handedBack: number;
  /** items run alone (suspects after a crash) */
  isolated: number;
  /** items another worker ended meanwhile (a duplicate delivery) */
  endedElsewhere: number;
}

type ItemEnd = 'completed' | 'failed' | 'cancelled' | 'handed-back' | 'ended-elsewhere';

/** A suspect's write-ahead found it ended by another worker meanwhile (a duplicate delivery). */
class EndedElsewhere extends Error {}

interface RunContext {
  batchId: string;
  claim: Claim;
  /** each claimed item's params, parsed once for the claim (a rerun after a crash reuses them) */
  params: Map<number, GenerationParams | ParamsProblem>;
  signal: AbortSignal;
  cancelled: AbortSignal;
}

/** Why an item's stored params did not parse: it fails as invalid_request without running. */
interface ParamsProblem {
  invalid: string;
}

function parseItemParams(item: ClaimedItem): GenerationParams | ParamsProblem {
  try {
    return parseGenerationParams(item.params);
  } catch (err) {
    return { invalid: (err as Error).message };
  }
}

/**
 * Runs one chunk job: claim its unfinished items, run every row through the engine at once (the
 * engine batches them with other chunks' rows), write each result as it lands. An item that fails
 * for its own reason (too long, bad params, a forward that fails for it alone) fails alone; a
 * database failure fails the chunk so BullMQ retries it, and the retry only redoes items not yet
 * written.
 *
 * Poison isolation: a row whose engine thread died under it twice, and every item of a chunk
 * whose workers died holding it WORKER_SUSPECT_STALLS times (BullMQ's stalled counter, or the
 * repair loop's `suspect` flag), is a suspect. Suspects run one at a time and alone in the engine
 * (IsolationLane), each run counted in Postgres before it starts; an item that crashed
 * ITEM_POISON_RUNS runs alone fails as poison, and only it does. A single death costs no
 * isolation: the usual cause (a deploy, a node's OOM kill) is nobody's fault.
 */
export class ChunkProcessor {
  private readonly shutdown = new AbortController();

  constructor(
    private readonly deps: {
      progress: Pick<BatchProgressRepository, 'claimItems' | 'countIsolatedRun'>;
      engine: GenerationEngine;
      writer: Pick<ResultWriter, 'write'>;
      cancels: Pick<CancelWatcher, 'track'>;
      workerId: string;
      log: Logger;
      /** runs alone that crashed before an item fails as poison (ITEM_POISON_RUNS) */
      poisonRuns: number;
      /** deaths of workers holding a chunk before its items run alone (WORKER_SUSPECT_STALLS) */
      suspectAfterStalls: number;
      lane?: IsolationLane;
      metrics?: WorkerMetrics;
      /** relays intermediate canvases of items with intermediate_every > 0 */
      canvases?: Pick<CanvasRelay, 'publish'>;
      /** the budget controller: sees claimed items as backlog, and completed rows */
      budget?: Pick<BudgetLoop, 'hold' | 'release' | 'rowEnded' | 'nudge'>;
      /** the model its engine runs: a chunk of another model's batch is refused (never run) */
      model?: string;
      /**
       * the model renders chat with its own template: a chat batch's prompts hold the template's
       * special tokens as text, to be encoded as those tokens (the API refused them in messages)
       */
      chatTemplate?: boolean;
      /** epoch ms of now (tests of deadlines pass a clock that only forwards move) */
      now?: () => number;
    },
  ) {
    // every chunk in flight listens to shutdown, and every running item to its chunk's signal; the
    // listeners go as each settles, so their number is bounded by the work held, not a leak
    setMaxListeners(0, this.shutdown.signal);
  }

  private get lane(): IsolationLane {
    return (this.deps.lane ??= new IsolationLane());
  }

  /** Shutdown past its drain: stop rows now and hand their chunks back to the queue. */
  handBackAll(): void {
    this.shutdown.abort(new Error('worker shutting down'));
  }

  async process(job: Job<ChunkJobData>, token?: string): Promise<ChunkSummary> {
    const { batchId, chunk, firstIndex, lastIndex } = job.data;
    const log = this.deps.log.child({ batch_id: batchId, chunk, job_id: job.id });
    const summary: ChunkSummary = {
      batchId,
      chunk,
      items: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      handedBack: 0,
      isolated: 0,
      endedElsewhere: 0,
    };
    const claim = await this.deps.progress.claimItems(
      batchId,
      firstIndex,
      lastIndex,
      this.deps.workerId,
    );
    if (!claim || claim.items.length === 0) {
      log.info({ status: claim?.status ?? 'missing' }, 'chunk has nothing to run');
      return summary;
    }
    if (this.deps.model !== undefined && claim.model !== this.deps.model) {
      // a queue is one model's; a chunk of another could only come from a misrouted enqueue
      throw new Error(
        `chunk of a ${claim.model} batch in the queue of ${this.deps.model}: not run here`,
      );
    }
    summary.items = claim.items.length;
    const started = performance.now();
    const budget = this.deps.budget;
    const params = new Map(claim.items.map((item) => [item.index, parseItemParams(item)]));
    const budgetKeys = claim.items.map((item) => `${batchId}:${item.index}`);
    if (budget) {
      claim.items.forEach((item, k) => {
        const parsed = params.get(item.index)!;
        if (!('invalid' in parsed)) budget.hold(budgetKeys[k]!, parsed, claim.createdAt.getTime());
      });
      void budget.nudge(); // rows are about to start: decide with them counted
    }
    const cancel = this.deps.cancels.track(batchId);
    const ctx: RunContext = {
      batchId,
      claim,
      params,
      signal: AbortSignal.any([cancel.signal, this.shutdown.signal]),
      cancelled: cancel.signal,
    };
    setMaxListeners(0, ctx.signal, ctx.cancelled); // one listener per running item (see `shutdown`)
    // Its workers died holding it again and again: any of its items may be what kills them.
    // (Once is the common case, a deploy or an OOM kill of a node: its items simply run again.)
    const suspectChunk =
      (job.stalledCounter ?? 0) >= this.deps.suspectAfterStalls || job.data.suspect === true;
    if (suspectChunk)
      log.warn(
        { stalled: job.stalledCounter ?? 0, items: claim.items.length },
        'chunk recovered from dead workers: running its items alone',
      );
    try {
      const ends: ItemEnd[] = [];
      const suspects: ClaimedItem[] = suspectChunk ? [...claim.items] : [];
      // Rows an engine thread died under run again with the others once; rows it died under
      // twice are suspects.
      let round = suspectChunk ? [] : [...claim.items];
      for (let retry = 0; round.length > 0; retry++) {
        const results = await Promise.all(round.map((item) => this.runItem(ctx, item)));
        const crashed = round.filter((_, k) => results[k] === 'crashed');
        for (const end of results) if (end !== 'crashed') ends.push(end);
        if (crashed.length > 0 && retry >= 1) {
          log.warn(
            { items: crashed.length },
            'engine thread died twice under these rows: running them alone',
          );
          suspects.push(...crashed);
          break;
        }
        round = crashed;
      }
      for (const item of suspects) {
        summary.isolated++;
        ends.push(await this.runSuspect(ctx, item, log));
      }
      for (const end of ends) {
        if (end === 'handed-back') summary.handedBack++;
        else if (end === 'ended-elsewhere') summary.endedElsewhere++;
        else summary[end]++;
      }
    } finally {
      cancel.release();
      if (budget) for (const key of budgetKeys) budget.release(key);
    }
    this.deps.metrics?.chunkSeconds.observe((performance.now() - started) / 1000);
    if (summary.handedBack > 0) {
      // Unfinished rows stay in_progress in Postgres; put the job back so another worker takes it now.
      log.warn(summary, 'handing chunk back to the queue');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    log.info(summary, 'chunk done');
    return summary;
  }

  /** A suspect: alone, one at a time, each run counted first; poison after enough crashes. */
  private async runSuspect(ctx: RunContext, item: ClaimedItem, log: Logger): Promise<ItemEnd> {
    for (;;) {
      const outcome = await this.lane.run(async () => {
        const counted: { runs: number | null } = { runs: null };
        // counted once the engine is empty and the row about to start, so that only the run
        // itself (not the wait for the engine to empty) is exposed to a crash of the process
        const countRun = async (): Promise<void> => {
          counted.runs = await this.deps.progress.countIsolatedRun(ctx.batchId, item.index);
          if (counted.runs === null) throw new EndedElsewhere();
          this.deps.metrics?.isolatedRuns.inc();
        };
        try {
          const end = await this.runItem(ctx, item, ctx.signal.aborted ? undefined : countRun);
          // stopping or cancelled before it ran: nothing was counted
          if (end === 'crashed')
            return counted.runs === null ? ('handed-back' as const) : { crashedRuns: counted.runs };
          return end;
        } catch (err) {
          if (err instanceof EndedElsewhere) return 'ended-elsewhere' as const;
          throw err;
        }
      });
      if (typeof outcome === 'string') return outcome;
      if (outcome.crashedRuns >= this.deps.poisonRuns) {
        log.error(
          { index: item.index, runs: outcome.crashedRuns },
          'item crashed the engine each time it ran alone: poison',
        );
        const detail = `it crashed the engine thread each of the ${outcome.crashedRuns} times it ran alone`;
        return this.end({
          batchId: ctx.batchId,
          index: item.index,
          workerId: this.deps.workerId,
          status: 'failed',
          failureReason: FAILURE_REASONS.poison,
          error: failureMessage(FAILURE_REASONS.poison, detail),
        });
      }
      log.warn(
        { index: item.index, runs: outcome.crashedRuns },
        'engine thread died running this item alone; trying again',
      );
    }
  }

  /** Runs one row; with `countRun`, alone in the engine, `countRun` awaited just before it starts. */
  private async runItem(
    ctx: RunContext,
    item: ClaimedItem,
    countRun?: () => Promise<void>,
  ): Promise<ItemEnd | 'crashed'> {
    const base = { batchId: ctx.batchId, index: item.index, workerId: this.deps.workerId };
    const invalid = (message: string) =>
      this.end({
        ...base,
        status: 'failed',
        failureReason: FAILURE_REASONS.invalidRequest,
        error: failureMessage(FAILURE_REASONS.invalidRequest, message),
      });
    const params = ctx.params.get(item.index)!;
    if ('invalid' in params) return invalid(params.invalid);
    const chat = this.deps.chatTemplate === true && ctx.claim.endpoint === '/v1/chat/completions';
    const task =
      item.prompt !== null
        ? chat
          ? { prompt: item.prompt, chat }
          : { prompt: item.prompt }
        : { prefix: item.prefix ?? '', suffix: item.suffix ?? '' };
    const request: GenerationRequest = { task, params };
    const now = this.deps.now ?? Date.now;
    const submitted = now();
    let result: GenerationResult;
    try {
      const canvases = this.deps.canvases;
      const onIntermediate =
        canvases && request.params.intermediate_every > 0
          ? (state: IntermediateState) =>
              canvases.publish(ctx.batchId, { index: item.index, ...state })
          : undefined;
      result = await this.deps.engine.generate(request, {
        signal: ctx.signal,
        onIntermediate,
        alone: countRun !== undefined,
        beforeStart: countRun,
      });
    } catch (err) {
      if (err instanceof RowForwardError) {
        return this.end({
          ...base,
          status: 'failed',
          failureReason: FAILURE_REASONS.forwardFailed,
          error: failureMessage(FAILURE_REASONS.forwardFailed, err.message),
        });
      }
      if (err instanceof GenerationError) return invalid(err.message);
      if (err instanceof EngineCrashedError) return 'crashed';
      throw err; // the engine itself failed: retry the chunk
    }
    this.deps.budget?.rowEnded(`${ctx.batchId}:${item.index}`, result, now());
    if (result.finish_reason === 'cancelled') {
      if (!ctx.cancelled.aborted) return 'handed-back';
      return this.end({ ...base, status: 'cancelled', steps: result.steps });
    }
    return this.end({
      ...base,
      status: 'completed',
      output: result.text,
      finishReason: result.finish_reason,
      steps: result.steps,
      tokens: result.tokens,
      promptTokens: result.prompt_tokens,
      // queue wait counts from submission of the batch, not from this worker's claim
      queueMs: Math.max(0, submitted - ctx.claim.createdAt.getTime()) + result.queue_ms,
      computeMs: result.compute_ms,
      seed: result.seed,
      provider: result.provider ?? null,
      budget: result.budget,
      appliedThreshold: result.applied_threshold,
      appliedMaxSteps: result.applied_max_steps,
    });
  }

  private async end(outcome: ItemOutcome): Promise<ItemEnd> {
    await this.deps.writer.write(outcome);
    const status = outcome.status as 'completed' | 'failed' | 'cancelled';
    this.deps.metrics?.items.inc({ status });
    if (outcome.tokens) this.deps.metrics?.tokens.inc(outcome.tokens);
    return status;
  }
}
