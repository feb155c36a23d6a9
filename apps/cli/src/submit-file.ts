import { GENERATION_PARAM_NAMES } from '@dllm/engine/params';
import { CliError, EXIT } from './exit-codes';

/** Batch options given on the command line; they win over the file's own. */
export interface BatchOptions {
  model?: string;
  completionWindow?: string;
  metadata?: Record<string, string>;
}

/** What `dllm submit` sends, whichever of the three file formats it read. */
export type SubmitRequest =
  | {
      format: 'json' | 'jsonl';
      contentType: 'application/json';
      body: string;
      items: number;
      /** line number (1-based) of each item of a JSONL file, to report the API's problems by line */
      lineOfIndex?: number[];
    }
  | {
      format: 'openai';
      contentType: 'application/x-ndjson';
      body: string;
      items: number;
      query: URLSearchParams;
    };

const TASK_FIELDS = new Set(['custom_id', 'prompt', 'prefix', 'suffix', 'params']);
const PARAM_NAMES = new Set(GENERATION_PARAM_NAMES);
const OPENAI_FIELDS = ['method', 'url', 'body'];
const MAX_LISTED = 20;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a submission file and says which kind it is:
 * - a JSON object `{items: [...], params?, model?, metadata?, completion_window?}` (the API's own body);
 * - JSONL of OpenAI batch requests (`{custom_id, method, url, body}`), sent as they are;
 * - JSONL of native items (`{custom_id, prompt | prefix + suffix, ...parameters}`, the `generate` input
 *   format), gathered into a JSON body. Validation is the API's; this only reshapes.
 */
export function buildSubmitRequest(text: string, options: BatchOptions): SubmitRequest {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (!trimmed) throw new CliError(EXIT.usage, 'the file is empty');
  const whole = parseWhole(trimmed);
  if (isObject(whole) && 'items' in whole) return jsonRequest(whole, options, 'json');
  if (isObject(whole) && trimmed.includes('\n')) {
    throw new CliError(
      EXIT.usage,
      'a JSON object must hold an "items" array (or give one item per line, JSONL)',
    );
  }
  if (Array.isArray(whole))
    throw new CliError(
      EXIT.usage,
      'a JSON array is not a batch: give {"items": [...]} or one item per line (JSONL)',
    );

  const lines = readLines(text);
  if (lines.length === 0) throw new CliError(EXIT.usage, 'the file has no lines with content');
  const openai = OPENAI_FIELDS.some((f) => f in lines[0]!.value);
  const mixed = lines.find((l) => OPENAI_FIELDS.some((f) => f in l.value) !== openai);
  if (mixed) {
    throw new CliError(
      EXIT.usage,
      `line ${mixed.line}: mixes formats: line ${lines[0]!.line} is ${openai ? 'an OpenAI batch request (method/url/body)' : 'a native item'}, this one is not`,
    );
  }
  if (openai) {
    if (options.model !== undefined)
      throw new CliError(
        EXIT.usage,
        '--model applies to native files; OpenAI batch lines name their model in body.model',
      );
    const query = new URLSearchParams();
    if (options.completionWindow !== undefined)
      query.set('completion_window', options.completionWindow);
    for (const [k, v] of Object.entries(options.metadata ?? {})) query.set(`metadata[${k}]`, v);
    return {
      format: 'openai',
      contentType: 'application/x-ndjson',
      body: text,
      items: lines.length,
      query,
    };
  }
  const items = lines.map(({ value }) => nativeItem(value));
  const model = nativeModel(lines, options.model);
  const request = jsonRequest(
    { items, ...(model === undefined ? {} : { model }) },
    options,
    'jsonl',
  );
  return { ...request, lineOfIndex: lines.map((l) => l.line) };
}

function parseWhole(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not one JSON document: read it as JSONL
  }
}

function readLines(text: string): { line: number; value: Record<string, unknown> }[] {
  const out: { line: number; value: Record<string, unknown> }[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push(`line ${i + 1}: not valid JSON (${(error as Error).message})`);
      return;
    }
    if (!isObject(value)) problems.push(`line ${i + 1}: must be a JSON object`);
    else out.push({ line: i + 1, value });
  });
  if (problems.length > 0) {
    const more =
      problems.length > MAX_LISTED ? [`... and ${problems.length - MAX_LISTED} more`] : [];
    throw new CliError(
      EXIT.usage,
      `${problems.length} line(s) cannot be read; nothing was submitted`,
      [...problems.slice(0, MAX_LISTED), ...more],
    );
  }
  return out;
}

/**
 * The batch model of native lines: what lines name in `model` (the same on every line that names
 * one, as the API asks of a native JSONL upload), which --model may repeat but not contradict.
 */
function nativeModel(
  lines: { line: number; value: Record<string, unknown> }[],
  flag: string | undefined,
): unknown {
  const naming = lines.filter((l) => l.value.model !== undefined);
  const first = naming[0];
  if (!first) return undefined;
  const other = naming.find((l) => l.value.model !== first.value.model);
  if (other) {
    throw new CliError(
      EXIT.usage,
      `line ${other.line}: every line must name the same model (line ${first.line} names ${JSON.stringify(first.value.model)}); a batch runs on one model`,
    );
  }
  if (flag !== undefined && flag !== first.value.model) {
    throw new CliError(
      EXIT.usage,
      `line ${first.line}: names model ${JSON.stringify(first.value.model)}, but --model is ${flag}`,
    );
  }
  return first.value.model;
}

/** A `generate`-style line as an API item: parameters by name move into `params`; anything else stays for the API to refuse by name. */
function nativeItem(line: Record<string, unknown>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  const params: Record<string, unknown> = isObject(line.params) ? { ...line.params } : {};
  for (const [key, value] of Object.entries(line)) {
    if ((key === 'params' && isObject(value)) || key === 'model') continue; // model: the batch's
    if (PARAM_NAMES.has(key) && !TASK_FIELDS.has(key)) params[key] = value;
    else item[key] = value;
  }
  if (Object.keys(params).length > 0) item.params = params;
  return item;
}

function jsonRequest(
  body: Record<string, unknown>,
  options: BatchOptions,
  format: 'json' | 'jsonl',
): SubmitRequest & { format: 'json' | 'jsonl' } {
  const merged = { ...body };
  if (options.model !== undefined) merged.model = options.model;
  if (options.completionWindow !== undefined) {
    merged.completion_window = /^\d+$/.test(options.completionWindow)
      ? Number(options.completionWindow)
      : options.completionWindow;
  }
  if (options.metadata)
    merged.metadata = { ...(isObject(body.metadata) ? body.metadata : {}), ...options.metadata };
  const items = Array.isArray(body.items) ? body.items.length : 0;
  return { format, contentType: 'application/json', body: JSON.stringify(merged), items };
}
