// The four ways a call can cross the gateway: each client dialect to each upstream wire format.
// Same dialect on both sides passes the bytes through; across dialects the answer is translated.
import { ChatToAnthropicStream, chatAnswerToAnthropic } from '../dialects/chat-to-anthropic.ts';
import { anthropicRequestToChat } from '../dialects/anthropic-to-chat.ts';
import type { Adapter, AdapterTable } from './adapter.ts';
import { anthropicPassthrough } from './anthropic/passthrough.ts';
import { translatedRequest } from './anthropic/request.ts';
import { AnthropicToChatStream, anthropicAnswerToChat } from './anthropic/response.ts';
import { openaiPassthrough } from './openai/passthrough.ts';
import { buildRequest } from './openai/request.ts';

const chatToAnthropicWire: Adapter = {
  request: translatedRequest,
  answer: anthropicAnswerToChat,
  stream: (up) => new AnthropicToChatStream(up),
};

const anthropicToOpenAIWire: Adapter = {
  request: (plan, d, model) => buildRequest({ ...plan, endpoint: 'chat/completions', body: anthropicRequestToChat(plan.body, d, plan.dropParams), raw: null }, d, model),
  answer: chatAnswerToAnthropic,
  stream: () => new ChatToAnthropicStream(),
};

export const ADAPTERS: AdapterTable = {
  openai: { openai: openaiPassthrough, anthropic: chatToAnthropicWire },
  anthropic: { anthropic: anthropicPassthrough, openai: anthropicToOpenAIWire },
};
