// Legacy completions clients. OpenAI-compatible servers that have the route (OpenAI's, Azure's, vLLM,
// Together, Fireworks, Ollama, ...) get the request as it is, to {base}/completions; every other upstream
// answers it through the chat call the gateway already makes for it, the answer turned into a text
// completion, chunk by chunk for streams.
import { ChatToCompletionsChunks, chatAnswerToCompletion, completionsToChat } from '../dialects/completions.ts';
import type { Deployment } from '../config/load.ts';
import type { Adapter, StreamCodec, UpstreamRequest } from './adapter.ts';
import { parseJsonAnswer } from './openai/passthrough.ts';
import { WrappedCodec } from './wrapped-codec.ts';

/** OpenAI-compatible providers whose servers answer /completions themselves. */
const NATIVE = new Set(['openai', 'azure', 'hosted_vllm', 'openai_like', 'custom_openai', 'litellm_proxy', 'together_ai', 'fireworks_ai', 'deepinfra', 'ollama', 'ollama_chat', 'lm_studio', 'openrouter']);

export const answersCompletions = (d: Deployment): boolean => d.wire === 'openai' && NATIVE.has(d.provider);

class ViaChatCompletionsStream extends WrappedCodec {
  private readonly chunks: ChatToCompletionsChunks;
  private readonly wantsUsage: boolean;

  constructor(inner: StreamCodec, model: string, wantsUsage: boolean) {
    super(inner);
    this.chunks = new ChatToCompletionsChunks(model);
    this.wantsUsage = wantsUsage;
  }

  push(run: Buffer): string {
    return this.chunks.push(this.inner.push(run));
  }

  finish(): string {
    if (!this.inner.complete || this.inner.upstreamError) return '';
    return this.chunks.end(this.inner.usage, this.wantsUsage);
  }
}

/** What each upstream request answers: the client's model name, whether it asked for a usage chunk. */
const asked = new WeakMap<UpstreamRequest, { model: string; wantsUsage: boolean }>();

/** The completions adapter of an upstream: `native` passes through, `chat` is its OpenAI-dialect adapter. */
export function completionsAdapter(native: Adapter | null, chat: Adapter): Adapter {
  return {
    request(plan, d, model) {
      if (native && answersCompletions(d)) return native.request(plan, d, model);
      const body = completionsToChat(plan.body, plan.dropParams);
      const up = chat.request({ ...plan, endpoint: 'chat/completions', body, raw: null }, d, model);
      asked.set(up, { model: String(plan.body.model), wantsUsage: (plan.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true });
      return up;
    },
    answer(body, up, headers) {
      const a = asked.get(up);
      if (!a) return native!.answer(body, up, headers);
      const out = chat.answer(body, up, headers);
      if (out.error) return out;
      const json = parseJsonAnswer(Buffer.isBuffer(out.body) ? out.body : Buffer.from(out.body));
      if (!json || !Array.isArray(json.choices)) return out;
      return { body: JSON.stringify(chatAnswerToCompletion(json, a.model)), usage: out.usage, upstreamId: out.upstreamId };
    },
    stream(up) {
      const a = asked.get(up);
      if (!a) return native!.stream(up);
      return new ViaChatCompletionsStream(chat.stream(up), a.model, a.wantsUsage);
    },
  };
}
