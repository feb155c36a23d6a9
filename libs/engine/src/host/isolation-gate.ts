/**
 * The isolation gate: rows wait here until they may be posted to the thread. An `alone` row waits
 * for the thread to empty, then runs by itself while later rows wait, so that a thread death during
 * its run is its own doing (poison isolation). Its `beforeStart` (a write-ahead record of the run)
 * is awaited once the thread is empty, just before the row is posted.
 */
import { EngineCrashedError } from '../errors';
import { cancelledResult, type Held } from './held-row';

/** What the gate needs of the engine around it. */
export interface GateHost {
  /** 'ready': rows may be posted; 'restarting': they wait for the new thread */
  state(): 'ready' | 'restarting' | 'failed' | 'closed';
  /** rows posted and not yet answered */
  inFlight(): number;
  /** posts the row to the thread (it is in flight from now on) */
  post(row: Held): void;
}

export class IsolationGate {
  private readonly held: Held[] = [];
  private aloneRunning: string | null = null;
  /** an alone row whose beforeStart is being awaited (not posted yet) */
  private starting: { id: string; aborted: boolean } | null = null;

  constructor(private readonly host: GateHost) {}

  /** Queues a row and posts what may go. */
  hold(row: Held): void {
    this.held.push(row);
    this.pump();
  }

  /**
   * The row's signal aborted. 'removed': it was still waiting here and left (the caller resolves
   * it as cancelled); 'starting': its beforeStart runs, and it is skipped once that settles;
   * 'posted': it is in the thread (the caller cancels it there).
   */
  abort(id: string): 'removed' | 'starting' | 'posted' {
    const waiting = this.held.findIndex((h) => h.id === id);
    if (waiting >= 0) {
      this.held.splice(waiting, 1);
      return 'removed';
    }
    if (this.starting?.id === id) {
      this.starting.aborted = true;
      return 'starting';
    }
    return 'posted';
  }

  /** A posted row was answered. */
  ended(id: string): void {
    if (this.aloneRunning === id) this.aloneRunning = null;
    this.pump();
  }

  /** The thread died: whatever ran alone in it is over. */
  threadLost(): void {
    this.aloneRunning = null;
  }

  /** Every waiting row fails with `error` (the engine closed or gave up). */
  rejectAll(error: () => Error): void {
    for (const h of this.held.splice(0)) {
      h.pending.cleanup();
      h.pending.reject(error());
    }
  }

  /** Posts held rows in order: an alone row waits for the thread to empty, then runs by itself. */
  pump(): void {
    while (this.held.length && this.host.state() === 'ready' && !this.aloneRunning) {
      const next = this.held[0]!;
      if (next.alone && this.host.inFlight() > 0) return;
      this.held.shift();
      if (next.alone) {
        this.aloneRunning = next.id;
        if (next.beforeStart) return void this.startAlone(next, next.beforeStart);
      }
      this.host.post(next);
    }
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
        const state = this.host.state();
        if (state !== 'ready' || this.aloneRunning !== next.id) {
          // the thread died meanwhile: the row goes first once a new one is up
          this.starting = null;
          // its run was already recorded by beforeStart: it is not recorded twice
          if (state === 'restarting') this.held.unshift({ ...next, beforeStart: undefined });
          else finish(new EngineCrashedError(`engine is ${state}`));
          return;
        }
        this.starting = null;
        this.host.post(next);
      },
      (error: Error) => finish(error),
    );
  }
}
