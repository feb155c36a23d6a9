export {
  ChatTemplate,
  ChatTemplateError,
  type ChatTurn,
  type TemplateTokens,
} from './chat-template';
