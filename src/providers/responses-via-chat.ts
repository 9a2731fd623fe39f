// Responses API clients of upstreams that answer in the chat form (every provider but OpenAI's and
// Azure's own Responses API): the request goes through the chat form and the call is the chat call the
// gateway already makes for that provider (translated or passed through); its answer, in the chat
// form the OpenAI dialect gets, is turned into a Response, chunk by chunk for streams. Usage and
// errors are taken from the provider's side.
import { ChatToResponsesEvents, chatAnswerToResponse, newId } from '../dialects/chat-to-responses.ts';
import { customToolNames, responsesToChat } from '../dialects/responses.ts';
import type { GatewayError } from '../http/errors.ts';
import { parseJsonAnswer } from './openai/passthrough.ts';
import type { Adapter, StreamCodec, UpstreamRequest } from './adapter.ts';
import { WrappedCodec } from './wrapped-codec.ts';

/** The Responses request behind each upstream request (the answer echoes its settings). */
const requests = new WeakMap<UpstreamRequest, { body: Record<string, any>; custom: Set<string> }>();

class ViaChatResponsesStream extends WrappedCodec {
  private readonly events: ChatToResponsesEvents;
  private errorSent = false;

  constructor(provider: StreamCodec, req: Record<string, any>, custom: Set<string>) {
    super(provider);
    this.events = new ChatToResponsesEvents(req, custom, newId('resp'));
  }

  push(run: Buffer): string {
    let out = this.events.push(this.inner.push(run));
    const err = this.inner.upstreamError;
    if (err && !this.errorSent) {
      this.errorSent = true;
      out += this.events.failedWith(err, this.inner.usage);
    }
    return out;
  }

  /** The closing events, made once: the final Response is known (and kept) before they are written. */
  private ending: string | null = null;

  finish(): string {
    if (!this.inner.complete || this.inner.upstreamError) return '';
    this.ending ??= this.events.completed(this.inner.usage);
    return this.ending;
  }

  errorFrame(err: GatewayError): string {
    return this.events.failedWith(err, this.inner.usage);
  }

  get response(): Record<string, unknown> | null {
    if (this.inner.complete && !this.inner.upstreamError) this.ending ??= this.events.completed(this.inner.usage);
    return this.events.final;
  }
}

/** The Responses-dialect adapter of the OpenAI-dialect one of a wire format. */
export function responsesViaChat(chat: Adapter): Adapter {
  return {
    request(plan, d, model) {
      const body = responsesToChat(plan.body, plan.dropParams);
      const up = chat.request({ ...plan, endpoint: 'chat/completions', body, raw: null }, d, model);
      requests.set(up, { body: plan.body, custom: customToolNames(plan.body) });
      return up;
    },
    answer(body, up, headers) {
      const out = chat.answer(body, up, headers);
      const req = requests.get(up);
      if (out.error || !req) return out;
      const json = parseJsonAnswer(Buffer.isBuffer(out.body) ? out.body : Buffer.from(out.body));
      if (!json || !Array.isArray(json.choices)) return out;
      const id = newId('resp');
      const response = chatAnswerToResponse(json, req.body, req.custom, out.usage, id);
      return { body: JSON.stringify(response), usage: out.usage, upstreamId: out.upstreamId, response };
    },
    stream(up) {
      const req = requests.get(up) ?? { body: {}, custom: new Set<string>() };
      return new ViaChatResponsesStream(chat.stream(up), req.body, req.custom);
    },
  };
}
