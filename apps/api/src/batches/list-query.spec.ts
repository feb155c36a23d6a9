import { ApiError } from '../common/api-error';
import {
  encodeCursor,
  parseHistoryQuery,
  parseItemsQuery,
  parseJsonlQuery,
  parseResultsQuery,
} from './list-query';

function refused(parse: () => unknown): ApiError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected a 400');
}

describe('parseHistoryQuery', () => {
  it('reads filters, metadata[key]=value pairs and a cursor it issued', () => {
    const at = new Date('2026-05-01T10:00:00.123Z');
    const cursor = encodeCursor(at, '0b6c9d7e-1111-4222-8333-444455556666');
    const { filter, limit } = parseHistoryQuery({
      status: 'completed,failed',
      model: 'dllm-code-small',
      created_after: '2026-01-01',
      created_before: '1780000000',
      'metadata[team]': 'red',
      'metadata[env]': 'prod',
      limit: '50',
      cursor,
    });
    expect(limit).toBe(50);
    expect(filter).toEqual({
      statuses: ['completed', 'failed'],
      model: 'dllm-code-small',
      createdAfter: new Date('2026-01-01T00:00:00Z'),
      createdBefore: new Date(1_780_000_000_000),
      metadata: { team: 'red', env: 'prod' },
      before: { createdAt: at, id: '0b6c9d7e-1111-4222-8333-444455556666' },
    });
  });

  it('accepts the nested form of an extended query parser too', () => {
    expect(parseHistoryQuery({ metadata: { team: 'red' } }).filter.metadata).toEqual({
      team: 'red',
    });
  });

  it('defaults to 20 newest batches', () => {
    expect(parseHistoryQuery({})).toEqual({
      filter: expect.any(Object) as object,
      limit: 20,
      view: 'by-origin',
    });
  });

  it('names every bad parameter', () => {
    const error = refused(() =>
      parseHistoryQuery({ status: 'done', limit: '500', cursor: 'zzz', colour: 'red' }),
    );
    expect(error.details?.map((d) => d.field)).toEqual(['colour', 'status', 'cursor', 'limit']);
  });
});

describe('parseItemsQuery / parseResultsQuery / parseJsonlQuery', () => {
  it('reads status, after and limit', () => {
    expect(parseItemsQuery({ status: 'queued', after: '41', limit: '5' })).toEqual({
      statuses: ['queued'],
      afterIndex: 41,
      limit: 5,
    });
    expect(parseItemsQuery({})).toEqual({ statuses: undefined, afterIndex: -1, limit: 100 });
  });

  it('refuses a bad format, a fractional index, an unknown option', () => {
    expect(refused(() => parseResultsQuery({ format: 'csv' })).message).toMatch(
      /format: must be "default" or "openai"/,
    );
    expect(refused(() => parseItemsQuery({ after: '1.5' })).message).toMatch(
      /after: must be a whole number/,
    );
    expect(refused(() => parseJsonlQuery({ priority: 'x' })).message).toMatch(
      /priority: unknown query parameter \(known: model, completion_window/,
    );
    // a native JSONL upload names its model in the query (checked against the served ones later)
    expect(parseJsonlQuery({ model: 'x' })).toMatchObject({ model: 'x' });
    expect(parseResultsQuery({ format: 'openai' })).toEqual({ format: 'openai' });
  });
});
