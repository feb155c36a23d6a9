import type { FailureReason } from './failure-reasons';
import type { TerminalItemStatus } from './statuses';
import { toStorableText } from './storable-text';

/** How one item ended, as the worker (or cancel / expiry) reports it. */
export interface ItemOutcome {
  batchId: string;
  index: number;
  status: TerminalItemStatus;
  output?: string | null;
  finishReason?: string | null;
  /** forwards (NFE) the row took part in */
  steps?: number | null;
  tokens?: number | null;
  promptTokens?: number | null;
  queueMs?: number | null;
  computeMs?: number | null;
  seed?: number | null;
  /** execution provider that ran the forwards (webgpu, cuda, cpu) */
  provider?: string | null;
  /** the step budget it ran under and the setting it used (GenerationResult) */
  budget?: string | null;
  appliedThreshold?: number | null;
  appliedMaxSteps?: number | null;
  workerId?: string | null;
  error?: string | null;
  /** machine-readable reason of a failure (FAILURE_REASONS) */
  failureReason?: FailureReason | null;
}

/** An outcome field that lands in a batch_items column (the key fields pick the row). */
export type ResultField = Exclude<keyof ItemOutcome, 'batchId' | 'index'>;

interface ResultColumn {
  field: ResultField;
  /** the batch_items column (BatchItemEntity) */
  column: string;
  /** Postgres element type of the parameter array the write unnests */
  type: 'int' | 'text' | 'float8';
  /** free text (generated or an error message): NUL and lone surrogates become U+FFFD */
  storable?: true;
  /** an outcome without it keeps what the row holds (counted at submit, or set by the claim) */
  keepIfNull?: true;
}

/**
 * Every column an item's ending writes, in one place: the result write's parameters, its unnest
 * list and its SET clause are all generated from this table (BatchProgressRepository).
 */
export const RESULT_COLUMNS = [
  { field: 'status', column: 'status', type: 'text' },
  { field: 'output', column: 'output', type: 'text', storable: true },
  { field: 'finishReason', column: 'finish_reason', type: 'text' },
  { field: 'steps', column: 'steps', type: 'int' },
  { field: 'tokens', column: 'tokens', type: 'int' },
  { field: 'promptTokens', column: 'prompt_tokens', type: 'int', keepIfNull: true },
  { field: 'queueMs', column: 'queue_ms', type: 'int' },
  { field: 'computeMs', column: 'compute_ms', type: 'int' },
  { field: 'seed', column: 'seed', type: 'int' },
  { field: 'workerId', column: 'worker_id', type: 'text', keepIfNull: true },
  { field: 'error', column: 'error', type: 'text', storable: true },
  { field: 'failureReason', column: 'failure_reason', type: 'text' },
  { field: 'provider', column: 'provider', type: 'text' },
  { field: 'budget', column: 'budget', type: 'text' },
  { field: 'appliedThreshold', column: 'applied_threshold', type: 'float8' },
  { field: 'appliedMaxSteps', column: 'applied_max_steps', type: 'int' },
] as const satisfies readonly ResultColumn[];

// A field added to ItemOutcome without a column here fails the type check.
type Unlisted = Exclude<ResultField, (typeof RESULT_COLUMNS)[number]['field']>;
const everyFieldListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyFieldListed;

/**
 * The SQL and parameters of a result write of `items` into one batch: `outcome` is a relation of
 * the items (`index` first, then the columns), `set` the assignments of `batch_items i` from `o`.
 * Placeholders start at `$firstParam`.
 */
export function resultWrite(
  items: readonly Omit<ItemOutcome, 'batchId'>[],
  firstParam: number,
): { outcome: string; set: string; params: unknown[] } {
  const columns: readonly ResultColumn[] = RESULT_COLUMNS;
  const types = ['int', ...columns.map((c) => c.type)];
  const names = ['index', ...columns.map((c) => c.column)];
  const arrays = types.map((type, k) => `$${firstParam + k}::${type}[]`);
  return {
    outcome: `SELECT * FROM unnest(${arrays.join(', ')}) AS o(${names.join(', ')})`,
    set: columns
      .map(({ column, keepIfNull }) =>
        keepIfNull ? `${column} = coalesce(o.${column}, i.${column})` : `${column} = o.${column}`,
      )
      .join(', '),
    params: [
      items.map((i) => i.index),
      ...columns.map(({ field, storable }) =>
        items.map((i) => {
          const value = i[field] ?? null;
          return storable && typeof value === 'string' ? toStorableText(value) : value;
        }),
      ),
    ],
  };
}
