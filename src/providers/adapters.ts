// The ways a call can cross the gateway: each client dialect to each upstream wire format.
// Same dialect on both sides passes the bytes through; across dialects the answer is translated.
import { ChatToAnthropicStream, chatAnswerToAnthropic } from '../dialects/chat-to-anthropic.ts';
import { anthropicRequestToChat } from '../dialects/anthropic-to-chat.ts';
import type { Adapter, AdapterTable } from './adapter.ts';
import { anthropicViaChat } from './anthropic-via-chat.ts';
import { responsesViaChat } from './responses-via-chat.ts';
import { completionsAdapter } from './completions-via-chat.ts';
import { NATIVE_RESPONSES, ResponsesPassthroughStream, nativeResponsesAnswer, nativeResponsesRequest } from './openai/responses.ts';
import { anthropicPassthrough } from './anthropic/passthrough.ts';
import { bedrockEmbeddingsAnswer, bedrockEmbeddingsRequest } from './bedrock/embeddings.ts';
import { onBedrock } from './bedrock/invoke.ts';
import { converseRequest } from './bedrock/request.ts';
import { ConverseToAnthropicStream, ConverseToChatStream, converseAnswerToAnthropic, converseAnswerToChat } from './bedrock/response.ts';
import { translatedRequest } from './anthropic/request.ts';
import { AnthropicToChatStream, anthropicAnswerToChat } from './anthropic/response.ts';
import { embeddingsAnswer, embeddingsRequest } from './gemini/embeddings.ts';
import { geminiRequest } from './gemini/request.ts';
import { GeminiToChatStream, geminiAnswerToChat } from './gemini/response.ts';
import { cohereEmbeddingsAnswer, cohereEmbeddingsRequest } from './cohere/embeddings.ts';
import { cohereRerankAnswer, cohereRerankRequest } from './cohere/rerank.ts';
import { cohereRequest } from './cohere/request.ts';
import { CohereToChatStream, cohereAnswerToChat } from './cohere/response.ts';
import { flatteningContent } from './mistral/content.ts';
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

const chatToGemini: Adapter = {
  request: (plan, d, model) => (plan.endpoint === 'embeddings' ? embeddingsRequest(plan, d, model) : geminiRequest(plan, d, model)),
  answer: (body, up) => (up.embeddings ? embeddingsAnswer(body, up) : geminiAnswerToChat(body, up)),
  stream: (up) => new GeminiToChatStream(up),
};

const chatToConverse: Adapter = {
  request: (plan, d, model) => (plan.endpoint === 'embeddings' ? bedrockEmbeddingsRequest(plan, d, model) : converseRequest(plan, d, model)),
  answer: (body, up, headers) => (up.embeddings ? bedrockEmbeddingsAnswer(body, up, headers) : converseAnswerToChat(body, up)),
  stream: (up) => new ConverseToChatStream(up),
};

const anthropicToConverse: Adapter = {
  request: converseRequest,
  answer: converseAnswerToAnthropic,
  stream: (up) => new ConverseToAnthropicStream(up),
};

const chatToCohere: Adapter = {
  request: (plan, d, model) =>
    plan.endpoint === 'embeddings' ? cohereEmbeddingsRequest(plan, d, model) : plan.endpoint === 'rerank' ? cohereRerankRequest(plan, d, model) : cohereRequest(plan, d, model),
  answer: (body, up) => (up.embeddings ? cohereEmbeddingsAnswer(body, up) : up.rerank ? cohereRerankAnswer(body, up) : cohereAnswerToChat(body, up)),
  stream: (up) => new CohereToChatStream(up),
};

// (Anthropic-wire adapters also serve Claude on Bedrock's InvokeModel, whose streams are AWS event streams)
const openaiDialect: AdapterTable['openai'] = {
  openai: flatteningContent(openaiPassthrough),
  anthropic: onBedrock(chatToAnthropicWire, 'openai'),
  gemini: chatToGemini,
  bedrock: chatToConverse,
  cohere: chatToCohere,
};

/** Responses clients: OpenAI's and Azure's own Responses API as it is, every other upstream through chat. */
function responsesFor(wire: keyof AdapterTable['openai']): Adapter {
  const viaChat = responsesViaChat(openaiDialect[wire]);
  if (wire !== 'openai') return viaChat;
  return {
    request: (plan, d, model) => (NATIVE_RESPONSES.has(d.provider) ? nativeResponsesRequest(plan, d, model) : viaChat.request(plan, d, model)),
    answer: (body, up, headers) => (up.responses ? nativeResponsesAnswer(body) : viaChat.answer(body, up, headers)),
    stream: (up) => (up.responses ? new ResponsesPassthroughStream() : viaChat.stream(up)),
  };
}

export const ADAPTERS: AdapterTable = {
  openai: openaiDialect,
  anthropic: {
    anthropic: onBedrock(anthropicPassthrough, 'anthropic'),
    openai: flatteningContent(anthropicToOpenAIWire),
    gemini: anthropicViaChat(chatToGemini, (up) => new GeminiToChatStream(up, null)),
    bedrock: anthropicToConverse,
    cohere: anthropicViaChat(chatToCohere, (up) => new CohereToChatStream(up, null)),
  },
  responses: {
    openai: responsesFor('openai'),
    anthropic: responsesFor('anthropic'),
    gemini: responsesFor('gemini'),
    bedrock: responsesFor('bedrock'),
    cohere: responsesFor('cohere'),
  },
};

/** Legacy completions clients (their endpoint, in the OpenAI dialect): passed through where the server has the route. */
export const COMPLETIONS: Record<keyof AdapterTable['openai'], Adapter> = {
  openai: completionsAdapter(openaiPassthrough, openaiDialect.openai),
  anthropic: completionsAdapter(null, openaiDialect.anthropic),
  gemini: completionsAdapter(null, openaiDialect.gemini),
  bedrock: completionsAdapter(null, openaiDialect.bedrock),
  cohere: completionsAdapter(null, openaiDialect.cohere),
};
