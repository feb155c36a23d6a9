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
