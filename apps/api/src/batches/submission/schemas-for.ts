import { batchSchemas, type BatchSchemas } from './batch-schema';
import { openAiRequestSchemas, type OpenAiRequestSchemas } from './openai-request';
import type { SubmissionRules } from './submission';

const built = new WeakMap<SubmissionRules, BatchSchemas & { openai: OpenAiRequestSchemas }>();

/** The request schemas for one set of rules, built once (zod schemas are not free to build). */
export function schemasFor(
  rules: SubmissionRules,
): BatchSchemas & { openai: OpenAiRequestSchemas } {
  let schemas = built.get(rules);
  if (!schemas) {
    const batch = batchSchemas(rules);
    schemas = { ...batch, openai: openAiRequestSchemas(batch.model) };
    built.set(rules, schemas);
  }
  return schemas;
}
