// Anthropic clients of providers the gateway translates from OpenAI's chat form (Gemini, Cohere): the
// request goes through the chat form (as for OpenAI-wire deployments) and the answer comes back the same
// way, the provider's translated to chat and chat's to Anthropic's messages, frame by frame for streams.
// Usage and errors are taken from the provider's side.
import { anthropicRequestToChat } from '../dialects/anthropic-to-chat.ts';
import { ChatToAnthropicStream, chatAnswerToAnthropic } from '../dialects/chat-to-anthropic.ts';
import { errorFrame } from '../http/sse.ts';
import type { Adapter, StreamCodec, UpstreamRequest } from './adapter.ts';
import { WrappedCodec } from './wrapped-codec.ts';

/** A provider's chat codec that leaves the error frame to its caller (errorDialect null). */
export type ChatCodecFactory = (up: UpstreamRequest) => StreamCodec;

class ViaChatStream extends WrappedCodec {
  private readonly anthropic = new ChatToAnthropicStream();
  private errorSent = false;

  push(run: Buffer): string {
    const chat = this.inner.push(run);
    let out = chat.length === 0 ? '' : this.anthropic.push(Buffer.isBuffer(chat) ? chat : Buffer.from(chat));
    const err = this.inner.upstreamError;
    if (err && !this.errorSent) {
      this.errorSent = true;
      out += errorFrame('anthropic', err);
    }
    return out;
  }

  finish(): string {
    if (!this.inner.complete || this.inner.upstreamError) return '';
    this.anthropic.usage = this.inner.usage;
    return this.anthropic.finish();
  }
}

/**
 * The Anthropic-dialect adapter of a chat-translating one. The client's `thinking` goes along as it is:
 * providers that think by budget (Gemini, Cohere) take it in their own terms.
 */
export function anthropicViaChat(chat: Adapter, stream: ChatCodecFactory): Adapter {
  return {
    request(plan, d, model) {
      const body = anthropicRequestToChat(plan.body, d, plan.dropParams);
      if (plan.body.thinking !== undefined) body.thinking = plan.body.thinking;
      return chat.request({ ...plan, endpoint: 'chat/completions', body, raw: null }, d, model);
    },
    answer(body, up, headers) {
      const out = chat.answer(body, up, headers);
      if (out.error || out.body === body) return out;
      return { ...chatAnswerToAnthropic(Buffer.from(out.body)), usage: out.usage, upstreamId: out.upstreamId };
    },
    stream: (up) => new ViaChatStream(stream(up)),
  };
}
