import { describeValue } from '@dllm/engine/request';
import { firstTooDeep, tooDeepMessage } from '../../common/json-depth';
import type { Problems } from './problems';
import { isPlainObject, type Location } from './submission';

/**
 * One JSONL line as an object, for both line formats (native and OpenAI): the nesting limit is
 * checked before JSON.parse, then the line must parse and be an object. Anything else is added to
 * `problems` at `at` and gives undefined.
 */
export function parseJsonLine(
  source: string,
  at: Location,
  maxDepth: number,
  problems: Problems,
): Record<string, unknown> | undefined {
  const tooDeep = firstTooDeep(source, maxDepth);
  if (tooDeep >= 0) {
    problems.add({ ...at, field: '(line)', message: tooDeepMessage(maxDepth, tooDeep) });
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (err) {
    problems.add({ ...at, field: '(line)', message: `not valid JSON: ${(err as Error).message}` });
    return undefined;
  }
  if (!isPlainObject(raw)) {
    problems.add({
      ...at,
      field: '(line)',
      message: `must be a JSON object (got ${describeValue(raw)})`,
    });
    return undefined;
  }
  return raw;
}
