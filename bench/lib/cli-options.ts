import { type Command, InvalidArgumentError } from 'commander';

/** commander parsers for the benchmarks' numeric options: a clear error instead of NaN. */
export const intOption =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };

export const numberOption =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min)
      throw new InvalidArgumentError(`must be a number >= ${min}`);
    return n;
  };

/**
 * The options every engine benchmark over validation prompts takes, so they read the same everywhere:
 * output file, model bundle, prompt length, engine batch size and threads, and the window seed.
 */
export function withEngineBenchOptions(program: Command): Command {
  return program
    .option('--json <file>', 'also write the JSON result here')
    .option('--model <dir>', 'model bundle', 'models/dllm-code-small')
    .option(
      '--prompt-tokens <n>',
      'prompt: this many tokens of a validation file',
      intOption(1),
      64,
    )
    .option('--max-batch-rows <n>', 'engine maxBatchRows', intOption(1), 16)
    .option('--threads <n>', 'onnxruntime intra-op threads (0 = its default)', intOption(0), 0)
    .option('--seed <n>', 'window sample seed', intOption(0), 4321);
}

const onOff = (v: string): boolean => {
  if (v !== 'on' && v !== 'off') throw new InvalidArgumentError('must be on or off');
  return v === 'on';
};

/** Engine scheduling/runtime knobs a throughput benchmark can set (unset: the engine's defaults). */
export function withEngineTuningOptions(program: Command): Command {
  return program
    .option('--refresh-hold <n>', 'scheduler refreshHoldSteps', intOption(0))
    .option('--refresh-min-rows <n>', 'scheduler refreshMinRows', intOption(1))
    .option('--pack <on|off>', 'scheduler packStepCalls', onOff)
    .option('--pack-ahead <n>', 'scheduler packAheadRows', intOption(0))
    .option('--spinning <on|off>', 'onnxruntime intra-op spinning', onOff);
}

export interface EngineTuning {
  refreshHold?: number;
  refreshMinRows?: number;
  pack?: boolean;
  packAhead?: number;
  spinning?: boolean;
}

/** The EngineOptions fields those options set. */
export const engineTuning = (o: EngineTuning) => ({
  refreshHoldSteps: o.refreshHold,
  refreshMinRows: o.refreshMinRows,
  packStepCalls: o.pack,
  packAheadRows: o.packAhead,
  intraOpSpinning: o.spinning,
});
