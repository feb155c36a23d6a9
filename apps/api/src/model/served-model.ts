import { join } from 'node:path';
import { readModelCatalog, type CatalogModel } from '@dllm/engine/bundle/model-catalog';
import { ChatTemplate, ChatTemplateError } from '@dllm/engine/chat';
import { PromptBudget } from '@dllm/engine/request';
import { DllmTokenizer } from '@dllm/engine/tokenizer';
import type { Config } from '@dllm/shared';
import { renderChat, type ChatMessage } from '../batches/submission/chat-template';
import type { SubmissionModel } from '../batches/submission/submission';

/** Injection token of the ModelCatalog (MODEL_DIR + MODELS, read once at start-up). */
export const MODEL_CATALOG = Symbol('MODEL_CATALOG');

/** What the API knows of one model the workers serve: its name, limits, tokenizer and chat. */
export interface ServedModel extends SubmissionModel {
  aliases: string[];
  /** unix seconds: when the bundle's dllm.json was written (GET /v1/models `created`) */
  createdAt: number;
  /** the bundle's family and kind, for /v1/models */
  kind: CatalogModel['shape']['kind'];
  family: string | null;
  /** the model renders chat with its own template (else the bundled python-file rendering) */
  hasChatTemplate: boolean;
  tokenizer: DllmTokenizer;
  chat: NonNullable<SubmissionModel['chat']>;
}

/** Every model of the deployment, the default (MODEL_DIR) first. */
export type ModelCatalog = readonly [ServedModel, ...ServedModel[]];

const text = (content: ChatMessage['content']): string =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

/**
 * A conversation as the model's prompt. With a chat template, the prompt's special-token texts are
 * its tokens (the worker encodes them so), so a message may not hold one: a user could otherwise
 * forge turns or end the prompt. `developer` is OpenAI's newer name for `system`, which is the
 * role the checkpoints' templates know.
 */
function chatOf(model: CatalogModel, tokenizer: DllmTokenizer): ServedModel['chat'] {
  if (!model.chatTemplatePath) return (messages) => ({ prompt: renderChat(messages), chat: false });
  const json = model.json;
  const tokenOf = (id: number | null | undefined) =>
    id === null || id === undefined ? undefined : tokenizer.decode([id]);
  const template = ChatTemplate.fromFile(model.chatTemplatePath, {
    bos_token: tokenOf(json.format_version === 3 ? json.bos_token_id : null),
    eos_token: tokenOf(json.eos_token_id),
  });
  return (messages) => {
    const turns = messages.map((m, i) => {
      const content = text(m.content);
      const special = tokenizer.findSpecialText(content);
      if (special !== null) {
        throw new ChatTemplateError(
          `[${i}].content holds ${JSON.stringify(special)}, a special token of ${model.name}: only its chat template may write one`,
        );
      }
      return { role: m.role === 'developer' ? 'system' : m.role, content };
    });
    return { prompt: template.render(turns), chat: true };
  };
}

function served(model: CatalogModel): ServedModel {
  const tokenizer = DllmTokenizer.fromFile(join(model.dir, 'tokenizer.json'));
  const json = model.json;
  return {
    name: model.name,
    aliases: model.aliases,
    maxLength: model.maxLength,
    needsPrompt: model.shiftLogits,
    createdAt: model.createdAt,
    kind: model.shape.kind,
    family: json.format_version === 3 ? json.family : null,
    defaults: model.defaults,
    shape: model.shape,
    hasChatTemplate: model.chatTemplatePath !== null,
    tokenizer,
    budget: new PromptBudget(tokenizer, {
      maxLength: model.maxLength,
      shiftLogits: model.shiftLogits,
    }),
    chat: chatOf(model, tokenizer),
  };
}

/**
 * Reads MODEL_DIR and MODELS once at start-up, by the engine's own dllm.json schema; a missing or
 * broken bundle (or template) stops the API with the reason.
 */
export function loadModelCatalog(config: Pick<Config, 'MODEL_DIR' | 'MODELS'>): ModelCatalog {
  const [first, ...rest] = readModelCatalog(config.MODEL_DIR, config.MODELS).map(served);
  return [first!, ...rest];
}
