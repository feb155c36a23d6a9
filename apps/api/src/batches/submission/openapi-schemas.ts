import { requestJsonSchema } from '@dllm/engine/request';
import type { OpenAPIObject } from '@nestjs/swagger';
import { schemasFor } from './schemas-for';
import type { SubmissionRules } from './submission';

/** Request bodies the OpenAPI document describes from their zod schemas (never by hand). */
const REQUEST_SCHEMAS = [
  'BatchSubmission',
  'OpenAiBatchCreate',
  'CompletionRequest',
  'ChatCompletionRequest',
] as const;
export type RequestSchemaName = (typeof REQUEST_SCHEMAS)[number];

/** A reference to one of them, for @ApiBody. */
export function schemaRef(name: RequestSchemaName): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

/**
 * Adds the request schemas to the document, generated from the schemas that validate the
 * requests (built for this deployment's limits: the served model, MAX_BATCH_ITEMS...).
 */
export function addRequestSchemas(document: OpenAPIObject, rules: SubmissionRules): void {
  const schemas = schemasFor(rules);
  const sources: Record<RequestSchemaName, Parameters<typeof requestJsonSchema>[0]> = {
    BatchSubmission: schemas.batch,
    OpenAiBatchCreate: schemas.openAiCreate,
    CompletionRequest: schemas.openai.completion,
    ChatCompletionRequest: schemas.openai.chat,
  };
  document.components ??= {};
  document.components.schemas ??= {};
  for (const name of REQUEST_SCHEMAS) {
    document.components.schemas[name] = requestJsonSchema(sources[name]);
  }
}
