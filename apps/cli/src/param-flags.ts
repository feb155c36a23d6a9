import { Option } from 'commander';
import { generationParamsSchema, type GenerationParamsInput } from '@dllm/engine';
import type { z } from 'zod';

/**
 * The generation-parameter flags, made from the one parameter schema (libs/engine params.ts):
 * `gen_length` is `--gen-length <n>` with the schema's own description and choices, so a new
 * parameter is a new flag and no flag drifts from what the API accepts. The schema still
 * validates the values (parseGenerationParams); the flags only convert them.
 */
export function paramOptions(): Option[] {
  return Object.entries(generationParamsSchema.shape).flatMap(([name, field]) =>
    optionsFor(name, field),
  );
}

/** The flags' values, under the schema's names (`--gen-length` -> gen_length); unset ones left out. */
export function paramsFromFlags(opts: Record<string, unknown>): GenerationParamsInput {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(generationParamsSchema.shape)) {
    const value = opts[camel(name)];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function optionsFor(name: string, field: z.ZodType): Option[] {
  const flag = `--${name.replace(/_/g, '-')}`;
  const description = field.description ?? name;
  const inner = unwrap(field);
  switch (inner.def.type) {
    case 'enum':
      return [
        new Option(`${flag} <name>`, description).choices((inner as z.ZodEnum).options.map(String)),
      ];
    case 'number':
      return [new Option(`${flag} <n>`, description).argParser(number)];
    case 'boolean':
      // both forms, so that an unset flag leaves the schema's (or the line's) value alone
      return [
        new Option(flag, description),
        new Option(`--no-${name.replace(/_/g, '-')}`, `not ${name}`),
      ];
    case 'array':
      return [new Option(`${flag} <text...>`, `${description} (repeatable)`)];
    default:
      return [new Option(`${flag} <value>`, description)];
  }
}

/** The type under .default() / .optional(). */
function unwrap(field: z.ZodType): z.ZodType {
  let inner = field;
  while (inner.def.type === 'default' || inner.def.type === 'optional') {
    inner = (inner as z.ZodDefault | z.ZodOptional).unwrap() as z.ZodType;
  }
  return inner;
}

function number(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}

const camel = (name: string): string => name.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase());
