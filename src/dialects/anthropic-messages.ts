// Anthropic's Messages API as an inbound dialect: the request checked as far as the gateway relies on
// it (the rest passes on as it is).
import { GatewayError } from '../http/errors.ts';
import { checkRetries, parseJsonObject, type LlmRequest } from './openai-chat.ts';

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

export function parseMessages(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  const model = body.model;
  if (model === undefined) throw bad('model', 'Missing required field: model.');
  if (typeof model !== 'string' || model.length === 0) throw bad('model', 'model must be a non-empty string.');
  const messages = body.messages;
  if (messages === undefined) throw bad('messages', 'Missing required field: messages.');
  if (!Array.isArray(messages)) throw bad('messages', 'messages must be an array of message objects.');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(`messages.${i}`, `messages.${i} must be an object.`);
    // "system" mid-conversation is a beta Claude Code uses.
    if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') {
      throw bad(`messages.${i}.role`, `messages.${i}.role must be "user", "assistant" or "system".`);
    }
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) {
      throw bad(`messages.${i}.content`, `messages.${i}.content must be a string or an array of content blocks.`);
    }
  }
  const maxTokens = body.max_tokens;
  if (maxTokens === undefined) throw bad('max_tokens', 'Missing required field: max_tokens.');
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) throw bad('max_tokens', 'max_tokens must be a whole number, 1 or more.');
  const system = body.system;
  if (system !== undefined && typeof system !== 'string' && !Array.isArray(system)) throw bad('system', 'system must be a string or an array of text blocks.');
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw bad('stream', 'stream must be a boolean.');
  checkRetries(body);
  return { body, model, stream: stream === true };
}

/** count_tokens takes the same body without max_tokens. */
export function parseCountTokens(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  return parseMessages(Buffer.from(JSON.stringify({ ...body, max_tokens: 1, stream: false })));
}
