import { BadRequestException, NotFoundException } from '@nestjs/common';
import { ApiError } from './api-error';
import type { HttpRequest } from './http';
import { toApiError } from './error.filter';

describe('toApiError', () => {
  const req = { method: 'GET', path: '/v1/nope', url: '/v1/nope' } as HttpRequest;

  it('keeps our own errors as they are', () => {
    const error = ApiError.conflict('x', 'y');
    expect(toApiError(error)).toBe(error);
  });

  it("rewords Nest's unknown-route 404", () => {
    expect(toApiError(new NotFoundException('Cannot GET /v1/nope'), req).toBody()).toEqual({
      error: { code: 'not_found', message: 'no route GET /v1/nope' },
    });
  });

  it("turns the body parser's errors (as Nest wraps them) into invalid_json and 413", () => {
    const parse = Object.assign(new SyntaxError('Unexpected token } in JSON'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    expect(toApiError(new BadRequestException(parse.message, { cause: parse }))).toMatchObject({
      status: 400,
      code: 'invalid_json',
    });
    const large = Object.assign(new Error('request entity too large'), {
      status: 413,
      statusCode: 413,
      type: 'entity.too.large',
    });
    expect(toApiError(large)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('hides anything unexpected behind a 500 without its details', () => {
    const error = toApiError(new Error('connection string postgres://secret@db'));
    expect(error.status).toBe(500);
    expect(error.message).not.toContain('secret');
  });
});
