import { zodIssues } from '@dllm/engine/request';
import type { z } from 'zod';
import { ApiError, type ProblemDetail } from '../../common/api-error';

/** Problems listed in a 400 at most; the rest are only counted. */
export const MAX_LISTED_PROBLEMS = 100;

/** Collects every problem of a submission, so one 400 tells the user everything to fix. */
export class Problems {
  private readonly listed: ProblemDetail[] = [];
  private total = 0;

  add(problem: ProblemDetail): void {
    this.total++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
  }

  /** Adds a zod error's issues (the shared error format) at a location, under `prefix`. */
  addZod(error: z.ZodError, prefix: string, at: Pick<ProblemDetail, 'index' | 'line'> = {}): void {
    for (const p of zodProblems(error, prefix, at)) this.add(p);
  }

  get count(): number {
    return this.total;
  }

  /**
   * Throws the 400 listing the problems, if there are any. `of`: what was refused, a batch
   * (nothing of it is accepted) or a single request (POST /v1/completions).
   */
  throwIfAny(of: 'batch' | 'request' = 'batch'): void {
    if (this.total === 0) return;
    const listedAll = this.total <= MAX_LISTED_PROBLEMS;
    const first = this.listed[0]!;
    const where =
      first.line !== undefined
        ? `line ${first.line}: `
        : first.index !== undefined
          ? `items[${first.index}]: `
          : '';
    throw new ApiError(
      400,
      of === 'batch' ? 'invalid_batch' : 'invalid_request',
      `${this.total} problem${this.total === 1 ? '' : 's'} in the ${of}` +
        (of === 'batch' ? ', nothing was accepted' : '') +
        ` (first: ${where}${first.field}: ${first.message})` +
        (listedAll ? '' : `; the first ${MAX_LISTED_PROBLEMS} are listed`),
      this.listed,
      { problem_count: this.total },
    );
  }
}

/** Zod issues (the engine's shared format) as problems at a location, fields renamed back. */
export function zodProblems(
  error: z.ZodError,
  prefix: string,
  at: Pick<ProblemDetail, 'index' | 'line'>,
  rename: (field: string) => string = (f) => f,
): ProblemDetail[] {
  return zodIssues(error, prefix).map((i) => ({
    ...at,
    field: rename(i.field),
    message: i.message,
  }));
}
