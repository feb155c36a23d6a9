import { ApiError } from './api-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id checked before it reaches Postgres (which would answer a malformed uuid with 500). */
export function parseUuid(value: string, what: string): string {
  if (!UUID.test(value)) {
    throw ApiError.badRequest('invalid_id', `${what} ${JSON.stringify(value)} is not a UUID`);
  }
  return value.toLowerCase();
}
