import type { Engine, GenerateOptions, GenerationRequest, GenerationResult } from '@dllm/engine';
import type { Logger } from 'pino';
import type { GenerationEngine } from './chunk-processor';

/**
 * Test-only faults (FAULT_INJECTION; the config refuses them in production), used by the chaos
 * suite to break a live worker the way production breaks it:
 * - `engine-crash-signal`: SIGUSR2 makes the engine thread throw an uncaught error;
 * - `crash-on-prompt:MARKER`: a row whose text holds MARKER kills the whole process (SIGKILL)
 *   once handed to the engine, as a native crash in onnxruntime would.
 */
export function injectFaults(
  spec: string | undefined,
  engine: Engine,
  log: Logger,
): GenerationEngine {
  if (!spec) return engine;
  const faults = spec.split(',').map((f) => f.trim());
  log.warn({ faults }, 'fault injection is on (tests only)');
  if (faults.includes('engine-crash-signal')) {
    process.on('SIGUSR2', () => {
      log.warn('fault injection: crashing the engine thread');
      engine.injectThreadCrash();
    });
  }
  const killProcess = faults
    .find((f) => f.startsWith('crash-on-prompt:'))
    ?.slice('crash-on-prompt:'.length);
  if (!killProcess) return engine;
  return {
    generate(request: GenerationRequest, opts?: GenerateOptions): Promise<GenerationResult> {
      const result = engine.generate(request, opts);
      const text =
        'prompt' in request.task ? request.task.prompt : request.task.prefix + request.task.suffix;
      if (text.includes(killProcess)) setImmediate(() => process.kill(process.pid, 'SIGKILL'));
      return result;
    },
  };
}
