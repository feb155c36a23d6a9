import { randomUUID } from 'node:crypto';
import type { GenerateOptions } from '../engine';
import type { EngineStats } from '../engine-protocol';
import type { ForwardPass } from '../runtime/forward-pass';
import type { ModelBundle } from '../bundle/model-bundle';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler';
import type { GenerationRequest, GenerationResult } from '../types';

/**
 * The Engine's surface (generate, stats, setAutoThreshold) over a Scheduler in this thread, for
 * tests that need a runtime of known speed (a FakeForward with a delay) behind the real worker code.
 * No thread, no supervision, no held queue: what differs from Engine is only how rows reach the scheduler.
 */
export class InProcessEngine {
  readonly scheduler: Scheduler;

  constructor(forward: ForwardPass, bundle: ModelBundle, opts: SchedulerOptions) {
    this.scheduler = new Scheduler(forward, bundle, opts);
  }

  generate(request: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    const id = randomUUID();
    const onAbort = () => this.scheduler.cancel(id);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    return this.scheduler
      .submit(id, request, opts.onIntermediate, opts.priority)
      .finally(() => opts.signal?.removeEventListener('abort', onAbort));
  }

  stats(): Promise<EngineStats> {
    return Promise.resolve({ ...this.scheduler.stats, ...this.scheduler.load });
  }

  setAutoThreshold(threshold: number | null): void {
    this.scheduler.autoThreshold = threshold;
  }
}
