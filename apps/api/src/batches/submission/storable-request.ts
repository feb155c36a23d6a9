import { unstorableStrings } from './storable-text';
import { ApiError } from '../../common/api-error';
import type { HttpRequest, HttpResponse } from '../../common/http';

/**
 * Refuses text Postgres cannot hold (NUL, lone surrogates) anywhere in a request's query or
 * small JSON body with a 400 naming the parameter or field, on every route: it would otherwise
 * reach a query and come back as a 500. Batch uploads are checked by their route, by item.
 */
export function refuseUnstorableText() {
  return (req: HttpRequest, res: HttpResponse, next: () => void): void => {
    const problems: { field: string; message: string }[] = [];
    unstorableStrings(req.query, 'query', problems);
    if (req.body !== undefined) unstorableStrings(req.body, 'body', problems);
    if (problems.length === 0) return next();
    const [first] = problems;
    const error = ApiError.badRequest(
      'invalid_text',
      `${first!.field}: ${first!.message}`,
      problems.slice(0, 100),
    );
    // answered here: a middleware error would bypass the exception filter's format
    res.statusCode = error.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(error.toBody()));
  };
}
