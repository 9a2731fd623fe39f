// Anthropic clients of Gemini deployments: the request goes through OpenAI's chat form (as for OpenAI-wire
// deployments) and the answer comes back the same way, Gemini's translated to chat and chat's to
// Anthropic's messages, frame by frame for streams. Usage and errors are taken from the Gemini side.
import { anthropicRequestToChat } from '../../dialects/anthropic-to-chat.ts';
import { ChatToAnthropicStream, chatAnswerToAnthropic } from '../../dialects/chat-to-anthropic.ts';
import type { GatewayError } from '../../http/errors.ts';
import { errorFrame } from '../../http/sse.ts';
import type { UsageRecord } from '../../metering/usage.ts';
import type { Adapter, StreamCodec, UpstreamRequest } from '../adapter.ts';
import { geminiRequest } from './request.ts';
import { GeminiToChatStream, geminiAnswerToChat } from './response.ts';

class GeminiToAnthropicStream implements StreamCodec {
  private readonly gemini: GeminiToChatStream;
  private readonly anthropic = new ChatToAnthropicStream();
  private errorSent = false;

  constructor(up: UpstreamRequest) {
    this.gemini = new GeminiToChatStream(up, null);
  }

  get usage(): UsageRecord | null {
    return this.gemini.usage;
  }
  get upstreamId(): string | null {
    return this.gemini.upstreamId;
  }
  get outputChars(): number {
    return this.gemini.outputChars;
  }
  get upstreamError(): GatewayError | null {
    return this.gemini.upstreamError;
  }
  get complete(): boolean {
    return this.gemini.complete;
  }

  push(run: Buffer): string {
    const chat = this.gemini.push(run);
    let out = chat === '' ? '' : this.anthropic.push(Buffer.from(chat));
    const err = this.gemini.upstreamError;
    if (err && !this.errorSent) {
      this.errorSent = true;
      out += errorFrame('anthropic', err);
    }
    return out;
  }

  finish(): string {
    if (!this.gemini.complete || this.gemini.upstreamError) return '';
    this.anthropic.usage = this.gemini.usage;
    return this.anthropic.finish();
  }
}

export const anthropicToGemini: Adapter = {
  request(plan, d, model) {
    const chat = anthropicRequestToChat(plan.body, d, plan.dropParams);
    // Gemini thinks by budget as Claude does: the client's thinking setting is taken as it is.
    if (plan.body.thinking !== undefined) chat.thinking = plan.body.thinking;
    return geminiRequest({ ...plan, endpoint: 'chat/completions', body: chat, raw: null }, d, model);
  },
  answer(body, up) {
    const chat = geminiAnswerToChat(body, up);
    if (chat.error || chat.body === body) return chat;
    return { ...chatAnswerToAnthropic(Buffer.from(chat.body)), usage: chat.usage, upstreamId: chat.upstreamId };
  },
  stream: (up) => new GeminiToAnthropicStream(up),
};
