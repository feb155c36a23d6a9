import { InvalidArgumentError } from 'commander';

/** commander parsers for the benchmarks' numeric options: a clear error instead of NaN. */
export const intOption =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };

export const numberOption =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be a number >= ${min}`);
    return n;
  };
