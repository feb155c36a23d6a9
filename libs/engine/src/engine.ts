import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { EngineInfo, EngineStats, FromThread, ThreadInit, ToThread } from './engine-protocol';
import {
  EngineCrashedError,
  EngineStoppedError,
  EngineTimeoutError,
  errorFromThread,
} from './errors';
import { cancelledResult, type Held, type Pending } from './host/held-row';
import { IsolationGate } from './host/isolation-gate';
import {
  spawnThread,
  ThreadSupervisor,
  type EngineHealth,
  type EngineSupervision,
} from './host/thread-supervisor';
import type {
  EngineOptions,
  GenerationRequest,
  GenerationResult,
  IntermediateState,
} from './types';

export { EngineCrashedError, EngineStoppedError, EngineTimeoutError } from './errors';
export type { EngineHealth, EngineSupervision } from './host/thread-supervisor';

export interface GenerateOptions {
  /** aborting cancels the row within one step; it resolves with finish_reason "cancelled" */
  signal?: AbortSignal;
  onIntermediate?: (state: IntermediateState) => void;
  /**
   * Run this row alone: rows already in flight finish first and later ones wait until it ends.
   * A thread death during an alone run is then this row's doing (poison isolation).
   */
  alone?: boolean;
  /**
   * With `alone`: awaited once the thread is empty, just before the row is posted (nothing else
   * runs meanwhile). A write-ahead record of the run goes here, so that only the run itself, not
   * the wait for the thread to empty, is exposed to a crash. Rejecting skips the row.
   */
  beforeStart?: () => Promise<void>;
  /** rows of higher priority take free slots first (interactive requests: 1; bulk: 0) */
  priority?: number;
}

/** Longest a stats() call waits for the thread. */
const STATS_TIMEOUT_MS = 5000;

/**
 * The engine as the rest of the world sees it: submit requests, get results. Inference runs in a
 * worker thread (engine-thread.ts) that host/thread-supervisor.ts starts and restarts; rows wait
 * at host/isolation-gate.ts until they may be posted. This object keeps each posted row's promise:
 * when the thread dies, every row in it is rejected with EngineCrashedError (never left hanging),
 * and rows submitted meanwhile wait for the new thread.
 */
export class Engine {
  private readonly thread: ThreadSupervisor;
  private readonly gate: IsolationGate;
  private readonly pending = new Map<string, Pending>();
  private readonly statsWaiters = new Map<
    string,
    { resolve: (s: EngineStats) => void; reject: (e: Error) => void }
  >();
  /** kept so that a restarted thread gets it too */
  private autoThreshold: number | null = null;

  private constructor(
    thread: Worker,
    readonly info: EngineInfo,
    init: ThreadInit,
    private readonly warn: (message: string) => void,
    supervision: EngineSupervision,
  ) {
    this.gate = new IsolationGate({
      state: () => this.thread.state,
      inFlight: () => this.pending.size,
      post: (row) => this.postHeld(row),
    });
    this.thread = new ThreadSupervisor(thread, init, warn, supervision, {
      message: (m) => this.onMessage(m),
      lost: (error) => this.onThreadLost(error),
      restarted: () => {
        if (this.autoThreshold !== null)
          this.post({ type: 'auto-threshold', threshold: this.autoThreshold });
        this.gate.pump();
      },
      failed: (error) => this.gate.rejectAll(() => new EngineCrashedError(error.message)),
    });
  }

  static async start(opts: EngineOptions, supervision: EngineSupervision = {}): Promise<Engine> {
    const { onWarning, ...init } = opts;
    const warn = onWarning ?? ((m: string) => console.warn(`[engine] ${m}`));
    const { thread, info } = await spawnThread(init, warn);
    return new Engine(thread, info, init, warn, supervision);
  }

  health(): EngineHealth {
    return this.thread.health();
  }

  generate(request: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (opts.signal?.aborted) return Promise.resolve(cancelledResult());
    const state = this.thread.state;
    if (state === 'closed' || state === 'failed') {
      return Promise.reject(new EngineStoppedError(state));
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const where = this.gate.abort(id);
        if (where === 'removed') {
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(cancelledResult());
          this.gate.pump();
        } else if (where === 'posted') this.post({ type: 'cancel', id });
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const pending: Pending = {
        resolve,
        reject,
        onIntermediate: opts.onIntermediate,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      };
      this.gate.hold({
        id,
        request,
        alone: opts.alone === true,
        beforeStart: opts.beforeStart,
        priority: opts.priority,
        pending,
      });
    });
  }

  /** The budget controller's threshold for budget "auto" rows that start from now on (null: their own). */
  setAutoThreshold(threshold: number | null): void {
    this.autoThreshold = threshold;
    this.post({ type: 'auto-threshold', threshold });
  }

  /** Scheduler counters; rejects at once while the thread is down, and never waits past a timeout. */
  stats(timeoutMs = STATS_TIMEOUT_MS): Promise<EngineStats> {
    if (this.thread.state !== 'ready') {
      return Promise.reject(new EngineCrashedError(`engine is ${this.thread.state}`));
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(id);
        reject(new EngineTimeoutError(timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.statsWaiters.set(id, {
        resolve: (s) => (clearTimeout(timer), resolve(s)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.post({ type: 'stats', id });
    });
  }

  /** Finishes the rows in flight (bounded), then releases the session and ends the thread. */
  async close(): Promise<void> {
    if (this.thread.state === 'closed') return;
    const closing = this.thread.close();
    this.gate.rejectAll(() => new EngineStoppedError('closed'));
    await closing;
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(new EngineCrashedError('engine closed before the row finished'));
    }
    this.pending.clear();
  }

  /**
   * Fault injection (tests, FAULT_INJECTION=engine-crash-signal): makes the thread throw an
   * uncaught error, as a bug escaping the scheduler would.
   */
  injectThreadCrash(): void {
    this.post({ type: 'crash' });
  }

  private postHeld(next: Held): void {
    this.pending.set(next.id, next.pending);
    this.post({
      type: 'generate',
      id: next.id,
      request: next.request,
      wantIntermediate: Boolean(next.pending.onIntermediate),
      priority: next.priority,
    });
  }

  private post(m: ToThread): void {
    this.thread.post(m);
  }

  private onMessage(m: FromThread): void {
    switch (m.type) {
      case 'result':
      case 'error': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        p.cleanup();
        if (m.type === 'result') p.resolve(m.result);
        else p.reject(errorFromThread(m.name, m.message));
        this.gate.ended(m.id);
        break;
      }
      case 'intermediate':
        this.pending.get(m.id)?.onIntermediate?.(m.state);
        break;
      case 'stats':
        this.statsWaiters.get(m.id)?.resolve(m.stats);
        this.statsWaiters.delete(m.id);
        break;
      case 'warning':
        this.warn(m.message);
        break;
      default:
        break;
    }
  }

  /** The thread died: every row and query in it fails at once. */
  private onThreadLost(error: EngineCrashedError): void {
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(error);
    }
    this.pending.clear();
    this.gate.threadLost();
    for (const w of this.statsWaiters.values()) w.reject(error);
    this.statsWaiters.clear();
  }
}
