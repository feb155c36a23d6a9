import type * as ort from 'onnxruntime-node';

/**
 * The CPU session options OrtForward.create uses (libs/engine/src/runtime/ort-forward.ts), so the
 * matmul peak and the model are measured under the same threading. Keep the two in step.
 */
export function engineSessionOptions(intraOpThreads: number): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  };
  if (intraOpThreads) options.intraOpNumThreads = intraOpThreads;
  return options;
}
