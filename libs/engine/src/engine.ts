import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineInfo, EngineStats, FromThread, ThreadInit, ToThread } from './engine-protocol';
import { GenerationError } from './sampler/row';
import type { EngineOptions, GenerationRequest, GenerationResult, IntermediateState } from './types';

export interface GenerateOptions {
  /** aborting cancels the row within one step; it resolves with finish_reason "cancelled" */
  signal?: AbortSignal;
  onIntermediate?: (state: IntermediateState) => void;
  /** rows of higher priority take free slots first (interactive requests: 1; bulk: 0) */
  priority?: number;
}

interface Pending {
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onIntermediate?: (s: IntermediateState) => void;
  cleanup: () => void;
}

/**
 * The engine as the rest of the world sees it: submit requests, get results. Inference runs in a
 * worker thread (see engine-thread.ts); this object only passes messages.
 */
export class Engine {
  private readonly pending = new Map<string, Pending>();
  private readonly statsWaiters = new Map<string, (s: EngineStats) => void>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: EngineInfo,
  ) {
    worker.on('message', (m: FromThread) => this.onMessage(m));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new Error(`engine thread exited (code ${code})`));
    });
  }

  static start(opts: EngineOptions): Promise<Engine> {
    const { onWarning, ...init } = opts;
    const warn = onWarning ?? ((m: string) => console.warn(`[engine] ${m}`));
    // built: the compiled thread beside this file; from source: a shim that loads the .ts via tsx
    const compiled = join(__dirname, 'engine-thread.js');
    const entry = existsSync(compiled) ? compiled : join(__dirname, 'engine-thread-entry.cjs');
    const worker = new Worker(entry, { workerData: init satisfies ThreadInit });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromThread): void => {
        if (m.type === 'warning') warn(m.message);
        else if (m.type === 'fatal') {
          worker.off('message', onMessage);
          void worker.terminate();
          reject(new Error(m.message));
        } else if (m.type === 'ready') {
          worker.off('message', onMessage);
          const engine = new Engine(worker, m.info);
          worker.on('message', (w: FromThread) => {
            if (w.type === 'warning') warn(w.message);
          });
          resolve(engine);
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  generate(request: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (this.closed) return Promise.reject(new Error('engine is closed'));
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.post({ type: 'cancel', id });
      if (opts.signal?.aborted) {
        resolve(cancelledResult());
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve,
        reject,
        onIntermediate: opts.onIntermediate,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      });
      this.post({ type: 'generate', id, request, wantIntermediate: Boolean(opts.onIntermediate), priority: opts.priority });
    });
  }

  stats(): Promise<EngineStats> {
    const id = randomUUID();
    return new Promise((resolve) => {
      this.statsWaiters.set(id, resolve);
      this.post({ type: 'stats', id });
    });
  }

  /** Finishes the rows in flight, then releases the session and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => {
      this.worker.on('message', (m: FromThread) => m.type === 'closed' && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.post({ type: 'close' });
    await done;
    await this.worker.terminate();
  }

  private post(m: ToThread): void {
    this.worker.postMessage(m);
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
        else p.reject(m.name === 'GenerationError' ? new GenerationError(m.message) : new Error(m.message));
        break;
      }
      case 'intermediate':
        this.pending.get(m.id)?.onIntermediate?.(m.state);
        break;
      case 'stats':
        this.statsWaiters.get(m.id)?.(m.stats);
        this.statsWaiters.delete(m.id);
        break;
      default:
        break;
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(err);
    }
    this.pending.clear();
  }
}

function cancelledResult(): GenerationResult {
  return { text: '', finish_reason: 'cancelled', steps: 0, tokens: 0, prompt_tokens: 0, queue_ms: 0, compute_ms: 0, seed: 0 };
}
