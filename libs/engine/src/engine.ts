import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineInfo, EngineStats, FromThread, ThreadInit, ToThread } from './engine-protocol';
import { GenerationError } from './sampler/row';
import { RowForwardError } from './scheduler/isolate-forward';
import type {
  EngineOptions,
  GenerationRequest,
  GenerationResult,
  IntermediateState,
} from './types';

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

/** The inference thread died while the row was in it; the row may be retried. */
export class EngineCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineCrashedError';
  }
}

/** How the engine answers the death of its thread. */
export interface EngineSupervision {
  /** restarts allowed within `restartWindowMs` (default 3); one more and the engine fails */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** the thread died; rows in it were rejected with EngineCrashedError */
  onThreadDeath?: (error: EngineCrashedError, restarting: boolean) => void;
  /** the engine gave up (restarts spent, or a restart failed): the owner should exit */
  onFatal?: (error: Error) => void;
}

/** What readiness probes read: synchronous, so a dead thread can never hang them. */
export interface EngineHealth {
  state: 'ready' | 'restarting' | 'failed' | 'closed';
  restarts: number;
  lastError: string | null;
}

interface Pending {
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onIntermediate?: (s: IntermediateState) => void;
  cleanup: () => void;
}

interface Held {
  id: string;
  request: GenerationRequest;
  alone: boolean;
  beforeStart?: () => Promise<void>;
  priority?: number;
  pending: Pending;
}

/** Longest a stats() call waits for the thread. */
const STATS_TIMEOUT_MS = 5000;
/** Longest close() waits for the thread to finish its rows before terminating it. */
const CLOSE_TIMEOUT_MS = 30_000;

/**
 * The engine as the rest of the world sees it: submit requests, get results. Inference runs in a
 * worker thread (see engine-thread.ts); this object passes messages and supervises the thread:
 * when it dies, every row in it is rejected with EngineCrashedError (never left hanging), the
 * thread is restarted, and rows submitted meanwhile wait for the new one.
 */
export class Engine {
  private thread: Worker | null;
  private status: EngineHealth['state'] = 'ready';
  private readonly pending = new Map<string, Pending>();
  private readonly held: Held[] = [];
  private aloneRunning: string | null = null;
  /** an alone row whose beforeStart is being awaited (not posted yet) */
  private starting: { id: string; aborted: boolean } | null = null;
  private readonly statsWaiters = new Map<
    string,
    { resolve: (s: EngineStats) => void; reject: (e: Error) => void }
  >();
  private readonly deaths: number[] = [];
  private restarts = 0;
  private lastError: string | null = null;
  /** kept so that a restarted thread gets it too */
  private autoThreshold: number | null = null;

  private constructor(
    thread: Worker,
    readonly info: EngineInfo,
    private readonly init: ThreadInit,
    private readonly warn: (message: string) => void,
    private readonly supervision: EngineSupervision,
  ) {
    this.thread = thread;
    this.attach(thread);
  }

  static async start(opts: EngineOptions, supervision: EngineSupervision = {}): Promise<Engine> {
    const { onWarning, ...init } = opts;
    const warn = onWarning ?? ((m: string) => console.warn(`[engine] ${m}`));
    const { thread, info } = await spawnThread(init, warn);
    return new Engine(thread, info, init, warn, supervision);
  }

  health(): EngineHealth {
    return { state: this.status, restarts: this.restarts, lastError: this.lastError };
  }

  generate(request: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (opts.signal?.aborted) return Promise.resolve(cancelledResult());
    if (this.status === 'closed' || this.status === 'failed') {
      return Promise.reject(new Error(`engine is ${this.status}`));
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const waiting = this.held.findIndex((h) => h.id === id);
        if (waiting >= 0) {
          this.held.splice(waiting, 1);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(cancelledResult());
          this.pump();
        } else if (this.starting?.id === id) this.starting.aborted = true;
        else this.post({ type: 'cancel', id });
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const pending: Pending = {
        resolve,
        reject,
        onIntermediate: opts.onIntermediate,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      };
      this.held.push({
        id,
        request,
        alone: opts.alone === true,
        beforeStart: opts.beforeStart,
        priority: opts.priority,
        pending,
      });
      this.pump();
    });
  }

  /** The budget controller's threshold for budget "auto" rows that start from now on (null: their own). */
  setAutoThreshold(threshold: number | null): void {
    this.autoThreshold = threshold;
    this.post({ type: 'auto-threshold', threshold });
  }

  /** Scheduler counters; rejects at once while the thread is down, and never waits past a timeout. */
  stats(timeoutMs = STATS_TIMEOUT_MS): Promise<EngineStats> {
    if (this.status !== 'ready') {
      return Promise.reject(new EngineCrashedError(`engine is ${this.status}`));
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(id);
        reject(new Error(`engine thread did not answer within ${timeoutMs} ms`));
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
    if (this.status === 'closed') return;
    this.status = 'closed';
    for (const h of this.held.splice(0)) {
      h.pending.cleanup();
      h.pending.reject(new Error('engine is closed'));
    }
    const thread = this.thread;
    if (thread) {
      const done = new Promise<void>((resolve) => {
        thread.on('message', (m: FromThread) => m.type === 'closed' && resolve());
        thread.once('exit', () => resolve());
        setTimeout(resolve, CLOSE_TIMEOUT_MS).unref();
      });
      this.post({ type: 'close' });
      await done;
      this.thread = null;
      await thread.terminate();
    }
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

  /** Posts held rows in order: an alone row waits for the thread to empty, then runs by itself. */
  private pump(): void {
    while (this.held.length && this.status === 'ready' && !this.aloneRunning) {
      const next = this.held[0]!;
      if (next.alone && this.pending.size > 0) return;
      this.held.shift();
      if (next.alone) {
        this.aloneRunning = next.id;
        if (next.beforeStart) return void this.startAlone(next, next.beforeStart);
      }
      this.postHeld(next);
    }
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

  /** Runs an alone row's beforeStart with the thread empty, then posts the row (or skips it). */
  private startAlone(next: Held, beforeStart: () => Promise<void>): void {
    const starting = (this.starting = { id: next.id, aborted: false });
    const finish = (error?: Error): void => {
      this.starting = null;
      if (this.aloneRunning === next.id) this.aloneRunning = null;
      next.pending.cleanup();
      if (error) next.pending.reject(error);
      else next.pending.resolve(cancelledResult());
      this.pump();
    };
    beforeStart().then(
      () => {
        if (starting.aborted) return finish();
        if (this.status !== 'ready' || this.aloneRunning !== next.id) {
          // the thread died meanwhile: the row goes first once a new one is up
          this.starting = null;
          // its run was already recorded by beforeStart: it is not recorded twice
          if (this.status === 'restarting') this.held.unshift({ ...next, beforeStart: undefined });
          else finish(new EngineCrashedError(`engine is ${this.status}`));
          return;
        }
        this.starting = null;
        this.postHeld(next);
      },
      (error: Error) => finish(error),
    );
  }

  private post(m: ToThread): void {
    this.thread?.postMessage(m);
  }

  private attach(thread: Worker): void {
    thread.on('message', (m: FromThread) => {
      if (thread === this.thread) this.onMessage(m);
    });
    thread.on('error', (err) => {
      if (thread === this.thread && this.status !== 'closed') this.onDeath(thread, err);
    });
    thread.on('exit', (code) => {
      if (thread === this.thread && this.status !== 'closed')
        this.onDeath(thread, new Error(`engine thread exited (code ${code})`));
    });
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
        else p.reject(rowError(m.name, m.message));
        if (this.aloneRunning === m.id) this.aloneRunning = null;
        this.pump();
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

  /** The thread died: fail what was in it, then restart it (or give up). */
  private onDeath(thread: Worker, cause: Error): void {
    this.thread = null;
    void thread.terminate();
    const error = new EngineCrashedError(`engine thread died: ${cause.message}`);
    this.lastError = error.message;
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(error);
    }
    this.pending.clear();
    this.aloneRunning = null;
    for (const w of this.statsWaiters.values()) w.reject(error);
    this.statsWaiters.clear();

    const now = Date.now();
    const window = this.supervision.restartWindowMs ?? 600_000;
    this.deaths.push(now);
    while (this.deaths.length && now - this.deaths[0]! > window) this.deaths.shift();
    const restarting = this.deaths.length <= (this.supervision.maxRestarts ?? 3);
    this.supervision.onThreadDeath?.(error, restarting);
    if (!restarting) {
      this.fail(
        new Error(`${error.message}; ${this.deaths.length} deaths within ${window} ms, giving up`),
      );
      return;
    }
    this.status = 'restarting';
    spawnThread(this.init, this.warn).then(
      ({ thread: next }) => {
        if (this.status !== 'restarting') {
          void next.terminate();
          return;
        }
        this.restarts++;
        this.thread = next;
        this.attach(next);
        this.status = 'ready';
        if (this.autoThreshold !== null)
          this.post({ type: 'auto-threshold', threshold: this.autoThreshold });
        this.pump();
      },
      (err: Error) => this.fail(new Error(`engine thread could not be restarted: ${err.message}`)),
    );
  }

  private fail(error: Error): void {
    if (this.status === 'closed') return;
    this.status = 'failed';
    this.lastError = error.message;
    for (const h of this.held.splice(0)) {
      h.pending.cleanup();
      h.pending.reject(new EngineCrashedError(error.message));
    }
    this.supervision.onFatal?.(error);
  }
}

/** Starts an inference thread and waits until its model is loaded. */
function spawnThread(
  init: ThreadInit,
  warn: (m: string) => void,
): Promise<{ thread: Worker; info: EngineInfo }> {
  // built: the compiled thread beside this file; from source: a shim that loads the .ts via tsx
  const compiled = join(__dirname, 'engine-thread.js');
  const entry = existsSync(compiled) ? compiled : join(__dirname, 'engine-thread-entry.cjs');
  const thread = new Worker(entry, { workerData: init satisfies ThreadInit });
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromThread): void => {
      if (m.type === 'warning') warn(m.message);
      else if (m.type === 'fatal') {
        done();
        void thread.terminate();
        reject(new Error(m.message));
      } else if (m.type === 'ready') {
        done();
        resolve({ thread, info: m.info });
      }
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    const onExit = (code: number): void => {
      done();
      reject(new Error(`engine thread exited during start-up (code ${code})`));
    };
    const done = (): void => {
      thread.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    thread.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/** An error from the thread as the class it had there (the row's fault, or a plain Error). */
function rowError(name: string, message: string): Error {
  if (name === 'RowForwardError') return new RowForwardError(message);
  if (name === 'GenerationError') return new GenerationError(message);
  return new Error(message);
}

function cancelledResult(): GenerationResult {
  return {
    text: '',
    finish_reason: 'cancelled',
    steps: 0,
    tokens: 0,
    prompt_tokens: 0,
    queue_ms: 0,
    compute_ms: 0,
    seed: 0,
    budget: 'fixed',
    applied_threshold: null,
    applied_max_steps: 0,
  };
}
