import { z } from 'zod';
import { GENERATION_PARAM_NAMES, generationParamsSchema, zodIssues, type GenerationParamsInput } from '@dllm/engine/params';
import type { GenerationTask } from '@dllm/engine';

/** One JSONL input line: a task plus optional per-line parameters (the library's names). */
const taskFields = z.strictObject({
  custom_id: z.string().min(1).max(64),
  prompt: z.string().optional(),
  prefix: z.string().optional(),
  suffix: z.string().optional(),
});

export interface ParsedLine {
  customId: string;
  task: GenerationTask;
  params: GenerationParamsInput;
}

export class LineError extends Error {
  constructor(
    readonly line: number,
    message: string,
    readonly customId?: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const paramNames = new Set(GENERATION_PARAM_NAMES);

/** Parses and validates one line against `defaults`; throws LineError naming the line and field. */
export function parseInputLine(text: string, line: number, defaults: GenerationParamsInput): ParsedLine {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LineError(line, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LineError(line, 'must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const customId = typeof obj.custom_id === 'string' ? obj.custom_id : undefined;
  const task: Record<string, unknown> = {};
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) (paramNames.has(k) ? params : task)[k] = v;
  const t = taskFields.safeParse(task);
  if (!t.success) throw new LineError(line, zodIssues(t.error).map((i) => `${i.field}: ${i.message}`).join('; '), customId);
  const { prompt, prefix, suffix } = t.data;
  let gtask: GenerationTask;
  if (prompt !== undefined && prefix === undefined && suffix === undefined) gtask = { prompt };
  else if (prompt === undefined && prefix !== undefined && suffix !== undefined) gtask = { prefix, suffix };
  else throw new LineError(line, 'give either "prompt", or both "prefix" and "suffix"', customId);
  const merged = { ...defaults, ...params };
  const p = generationParamsSchema.safeParse(merged);
  if (!p.success) throw new LineError(line, zodIssues(p.error).map((i) => `${i.field}: ${i.message}`).join('; '), customId);
  return { customId: t.data.custom_id, task: gtask, params: merged };
}
