import { BATCH_STATUSES, ITEM_STATUSES, type BatchStatus, type ItemStatus } from '@dllm/shared';
import { ApiError, type ProblemDetail } from '../common/api-error';
import type { BatchViewChoice } from './batch-presenter';
import type { HistoryFilter } from './batches.repository';

export const HISTORY_PAGE = { default: 20, max: 100 } as const;
export const ITEMS_PAGE = { default: 100, max: 1000 } as const;

type Query = Record<string, unknown>;

/** Every query value as a list of strings (a repeated key gives several; `a,b` splits). */
function values(query: Query, key: string): string[] | undefined {
  const raw = query[key];
  if (raw === undefined) return undefined;
  const list = Array.isArray(raw) ? raw : [raw];
  return list
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : []))
    .map((v) => v.trim())
    .filter(Boolean);
}

function single(query: Query, key: string, problems: ProblemDetail[]): string | undefined {
  const raw = query[key];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') {
    problems.push({ field: key, message: 'give this parameter once, as a plain value' });
    return undefined;
  }
  return raw;
}

function integer(
  query: Query,
  key: string,
  min: number,
  max: number,
  fallback: number,
  problems: ProblemDetail[],
): number {
  const raw = single(query, key, problems);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || n < min || n > max) {
    problems.push({
      field: key,
      message: `must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    });
    return fallback;
  }
  return n;
}

/** ISO 8601 ("2026-05-01T12:00:00Z", "2026-05-01") or unix seconds. */
function timestamp(query: Query, key: string, problems: ProblemDetail[]): Date | undefined {
  const raw = single(query, key, problems);
  if (raw === undefined) return undefined;
  const date = /^\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  if (Number.isNaN(date.getTime())) {
    problems.push({
      field: key,
      message: `must be an ISO 8601 time or unix seconds (got ${JSON.stringify(raw)})`,
    });
    return undefined;
  }
  return date;
}

function statuses<T extends string>(
  query: Query,
  allowed: readonly T[],
  problems: ProblemDetail[],
): T[] | undefined {
  const list = values(query, 'status');
  if (list === undefined) return undefined;
  for (const s of list) {
    if (!(allowed as readonly string[]).includes(s)) {
      problems.push({
        field: 'status',
        message: `unknown status ${JSON.stringify(s)} (one of: ${allowed.join(', ')})`,
      });
    }
  }
  return list as T[];
}

/** `metadata[key]=value` (the plain query parser) or `metadata: {key: value}` (the extended one). */
function metadataFilter(
  query: Query,
  problems: ProblemDetail[],
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const flat = /^metadata\[(.+)\]$/.exec(key);
    if (flat && typeof value === 'string') out[flat[1]!] = value;
    else if (flat) problems.push({ field: key, message: 'give each metadata filter once' });
  }
  const nested = query.metadata;
  if (nested !== undefined) {
    if (typeof nested === 'object' && nested !== null && !Array.isArray(nested)) {
      for (const [k, v] of Object.entries(nested)) {
        if (typeof v === 'string') out[k] = v;
        else problems.push({ field: `metadata[${k}]`, message: 'give each metadata filter once' });
      }
    } else {
      problems.push({ field: 'metadata', message: 'filter metadata as metadata[key]=value' });
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function rejectUnknown(query: Query, known: string[], problems: ProblemDetail[]): void {
  for (const key of Object.keys(query)) {
    if (!known.includes(key) && !/^metadata\[.+\]$/.test(key)) {
      problems.push({
        field: key,
        message: `unknown query parameter (known: ${known.join(', ')}, metadata[key])`,
      });
    }
  }
}

function throwIfAny(problems: ProblemDetail[]): void {
  if (problems.length > 0) {
    throw ApiError.badRequest(
      'invalid_query',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      problems,
    );
  }
}

/** Opaque to clients: base64url of the last row's (created_at, id). */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string, problems: ProblemDetail[]): HistoryFilter['before'] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [
      unknown,
      unknown,
    ];
    const createdAt = new Date(String(at));
    if (
      typeof at === 'string' &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id) &&
      !Number.isNaN(createdAt.getTime())
    ) {
      return { createdAt, id };
    }
  } catch {
    // reported below
  }
  problems.push({
    field: 'cursor',
    message: 'is not a cursor this API returned (use next_cursor as given)',
  });
  return undefined;
}

/**
 * GET /v1/batches query -> filter + page size. `after` (OpenAI's cursor: the id of the last batch
 * seen) is resolved by the service, as it needs that batch's row.
 */
export function parseHistoryQuery(query: Query): {
  filter: HistoryFilter;
  limit: number;
  after?: string;
  view: BatchViewChoice;
} {
  const problems: ProblemDetail[] = [];
  rejectUnknown(
    query,
    [
      'status',
      'model',
      'created_after',
      'created_before',
      'metadata',
      'limit',
      'cursor',
      'after',
      'view',
    ],
    problems,
  );
  const view = viewChoice(single(query, 'view', problems), problems);
  const cursor = single(query, 'cursor', problems);
  const after = single(query, 'after', problems);
  if (cursor !== undefined && after !== undefined) {
    problems.push({ field: 'after', message: 'give cursor or after, not both' });
  }
  const filter: HistoryFilter = {
    statuses: statuses<BatchStatus>(query, BATCH_STATUSES, problems),
    model: single(query, 'model', problems),
    createdAfter: timestamp(query, 'created_after', problems),
    createdBefore: timestamp(query, 'created_before', problems),
    metadata: metadataFilter(query, problems),
    before: cursor === undefined ? undefined : decodeCursor(cursor, problems),
  };
  const limit = integer(query, 'limit', 1, HISTORY_PAGE.max, HISTORY_PAGE.default, problems);
  throwIfAny(problems);
  return { filter, limit, after, view };
}

function viewChoice(raw: string | undefined, problems: ProblemDetail[]): BatchViewChoice {
  if (raw === undefined) return 'by-origin';
  if (raw !== 'native') {
    problems.push({ field: 'view', message: `must be "native" (got ${JSON.stringify(raw)})` });
  }
  return 'native';
}

/** `?view=native` of GET /v1/batches/:id and POST /v1/batches/:id/cancel. */
export function parseViewQuery(query: Query): BatchViewChoice {
  const problems: ProblemDetail[] = [];
  rejectUnknown(query, ['view'], problems);
  const view = viewChoice(single(query, 'view', problems), problems);
  throwIfAny(problems);
  return view;
}

/** GET /v1/batches/:id/items query. `after` is the last index already seen (-1: from the start). */
export function parseItemsQuery(query: Query): {
  statuses?: ItemStatus[];
  afterIndex: number;
  limit: number;
} {
  const problems: ProblemDetail[] = [];
  rejectUnknown(query, ['status', 'after', 'limit'], problems);
  const result = {
    statuses: statuses<ItemStatus>(query, ITEM_STATUSES, problems),
    afterIndex: integer(query, 'after', -1, 2 ** 31 - 1, -1, problems),
    limit: integer(query, 'limit', 1, ITEMS_PAGE.max, ITEMS_PAGE.default, problems),
  };
  throwIfAny(problems);
  return result;
}

/** GET /v1/batches/:id/results query. */
export function parseResultsQuery(query: Query): { format: 'default' | 'openai' } {
  const problems: ProblemDetail[] = [];
  rejectUnknown(query, ['format'], problems);
  const format = single(query, 'format', problems) ?? 'default';
  if (format !== 'default' && format !== 'openai') {
    problems.push({
      field: 'format',
      message: `must be "default" or "openai" (got ${JSON.stringify(format)})`,
    });
  }
  throwIfAny(problems);
  return { format: format as 'default' | 'openai' };
}

/** Query of a JSONL upload: batch options that a JSON body would carry itself. */
export function parseJsonlQuery(query: Query): {
  model?: string;
  completion_window?: unknown;
  metadata?: Record<string, string>;
  webhook_url?: string;
} {
  const problems: ProblemDetail[] = [];
  rejectUnknown(query, ['model', 'completion_window', 'metadata', 'webhook_url'], problems);
  const result = {
    model: single(query, 'model', problems),
    completion_window: single(query, 'completion_window', problems),
    metadata: metadataFilter(query, problems),
    webhook_url: single(query, 'webhook_url', problems),
  };
  throwIfAny(problems);
  return result;
}
