/**
 * The thread supervisor: starts the inference thread (engine-thread.ts), and when it dies tells
 * the engine (whose rows in it are then rejected), restarts it within the restart budget, or gives
 * up. It knows nothing of rows: the engine above it does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineInfo, FromThread, ThreadInit, ToThread } from '../engine-protocol';
import { EngineCrashedError } from '../errors';

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

/** What the supervisor tells the engine, in this order on a death: lost, then restarted or failed. */
export interface ThreadEvents {
  message(m: FromThread): void;
  /** the thread died: fail what was in it (before the owner's onThreadDeath hears of it) */
  lost(error: EngineCrashedError): void;
  /** a new thread is up and ready */
  restarted(): void;
  /** the engine gave up (before the owner's onFatal hears of it) */
  failed(error: Error): void;
}

/** Longest close() waits for the thread to finish its rows before terminating it. */
const CLOSE_TIMEOUT_MS = 30_000;

export class ThreadSupervisor {
  state: EngineHealth['state'] = 'ready';
  private thread: Worker | null;
  private readonly deaths: number[] = [];
  private restarts = 0;
  private lastError: string | null = null;

  constructor(
    thread: Worker,
    private readonly init: ThreadInit,
    private readonly warn: (message: string) => void,
    private readonly supervision: EngineSupervision,
    private readonly events: ThreadEvents,
  ) {
    this.thread = thread;
    this.attach(thread);
  }

  health(): EngineHealth {
    return { state: this.state, restarts: this.restarts, lastError: this.lastError };
  }

  post(m: ToThread): void {
    this.thread?.postMessage(m);
  }

  /** Asks the thread to finish its rows and release its session (bounded), then ends it. */
  async close(): Promise<void> {
    this.state = 'closed';
    const thread = this.thread;
    if (!thread) return;
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

  private attach(thread: Worker): void {
    thread.on('message', (m: FromThread) => {
      if (thread === this.thread) this.events.message(m);
    });
    thread.on('error', (err) => {
      if (thread === this.thread && this.state !== 'closed') this.onDeath(thread, err);
    });
    thread.on('exit', (code) => {
      if (thread === this.thread && this.state !== 'closed')
        this.onDeath(thread, new Error(`engine thread exited (code ${code})`));
    });
  }

  /** The thread died: fail what was in it, then restart it (or give up). */
  private onDeath(thread: Worker, cause: Error): void {
    this.thread = null;
    void thread.terminate();
    const error = new EngineCrashedError(`engine thread died: ${cause.message}`);
    this.lastError = error.message;
    this.events.lost(error);

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
    this.state = 'restarting';
    spawnThread(this.init, this.warn).then(
      ({ thread: next }) => {
        if (this.state !== 'restarting') {
          void next.terminate();
          return;
        }
        this.restarts++;
        this.thread = next;
        this.attach(next);
        this.state = 'ready';
        this.events.restarted();
      },
      (err: Error) => this.fail(new Error(`engine thread could not be restarted: ${err.message}`)),
    );
  }

  private fail(error: Error): void {
    if (this.state === 'closed') return;
    this.state = 'failed';
    this.lastError = error.message;
    this.events.failed(error);
    this.supervision.onFatal?.(error);
  }
}

/** Starts an inference thread and waits until its model is loaded. */
export function spawnThread(
  init: ThreadInit,
  warn: (m: string) => void,
): Promise<{ thread: Worker; info: EngineInfo }> {
  // bundled (tools/gpu pack: one file, the thread beside it), built (the compiled thread one folder
  // up, beside engine.js), or from source (a shim that loads the .ts via tsx)
  const entry =
    [join(__dirname, 'engine-thread.js'), join(__dirname, '..', 'engine-thread.js')].find((f) =>
      existsSync(f),
    ) ?? join(__dirname, '..', 'engine-thread-entry.cjs');
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
