// OpenAI chat answers in Anthropic's Messages form, for Anthropic clients of OpenAI-wire deployments:
// whole messages, and streams as Anthropic's exact event sequence (message_start, content blocks
// opened, filled and closed one at a time, message_delta with the usage, message_stop).
import { GatewayError } from '../http/errors.ts';
import { errorFrame, frameData, splitFrames } from '../http/sse.ts';
import { EMPTY_USAGE, fromOpenAI, toAnthropic, type UsageRecord } from '../metering/usage.ts';
import type { StreamCodec, Translated } from '../providers/adapter.ts';
import { parseJsonAnswer } from '../providers/openai/passthrough.ts';

const STOP: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

const stopReason = (finish: unknown): string => STOP[String(finish)] ?? 'end_turn';

function toolInput(args: unknown): unknown {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

/** The reasoning text an OpenAI-compatible server sends, under either of the names in use. */
const reasoningOf = (m: Record<string, any>): string | undefined =>
  typeof m.reasoning_content === 'string' ? m.reasoning_content : typeof m.reasoning === 'string' ? m.reasoning : undefined;

export function chatAnswerToAnthropic(body: Buffer): Translated {
  const json = parseJsonAnswer(body);
  const choice = json?.choices?.[0];
  if (!json || !choice) return { body, usage: null, upstreamId: null };
  const m = choice.message ?? {};
  const content: Record<string, unknown>[] = [];
  const reasoning = reasoningOf(m);
  if (reasoning) content.push({ type: 'thinking', thinking: reasoning, signature: '' });
  if (typeof m.content === 'string' && m.content !== '') content.push({ type: 'text', text: m.content });
  for (const c of m.tool_calls ?? []) content.push({ type: 'tool_use', id: c.id, name: c.function?.name, input: toolInput(c.function?.arguments) });
  const usage = json.usage ? fromOpenAI(json.usage) : null;
  const out = {
    id: json.id,
    type: 'message',
    role: 'assistant',
    model: json.model,
    content,
    stop_reason: stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: toAnthropic(usage ?? EMPTY_USAGE),
  };
  return { body: JSON.stringify(out), usage, upstreamId: typeof json.id === 'string' ? json.id : null };
}

const event = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** OpenAI chunks as Anthropic events. The closing events wait in finish() for the ledger. */
export class ChatToAnthropicStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private started = false;
  private model = '';
  /** The open content block: its Anthropic index and kind. */
  private open: { index: number; kind: 'text' | 'thinking' | 'tool' } | null = null;
  private nextIndex = 0;
  /** OpenAI tool call index → Anthropic block index. */
  private readonly toolBlocks = new Map<number, number>();
  private stop: string | null = null;

  push(run: Buffer): string {
    let out = '';
    for (const frame of splitFrames(run)) {
      const data = frameData(frame);
      if (data === null) continue;
      if (data.trim() === '[DONE]') {
        this.complete = true;
        continue;
      }
      let chunk: Record<string, any>;
      try {
        chunk = JSON.parse(data);
      } catch {
        continue;
      }
      out += this.chunk(chunk);
    }
    return out;
  }

  private start(chunk: Record<string, any>): string {
    if (this.started) return '';
    this.started = true;
    this.upstreamId = typeof chunk.id === 'string' ? chunk.id : null;
    this.model = String(chunk.model ?? '');
    const message = {
      id: this.upstreamId ?? 'msg_gateway',
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The input side is known only at the end: message_delta carries the final counts.
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return event('message_start', { message });
  }

  private close(): string {
    if (!this.open) return '';
    const out = event('content_block_stop', { index: this.open.index });
    this.open = null;
    return out;
  }

  private openBlock(kind: 'text' | 'thinking' | 'tool', block: Record<string, unknown>): string {
    const out = this.close();
    this.open = { index: this.nextIndex++, kind };
    return out + event('content_block_start', { index: this.open.index, content_block: block });
  }

  private chunk(chunk: Record<string, any>): string {
    if (chunk.error) {
      const e = chunk.error;
      this.upstreamError = new GatewayError('upstream_error', String(e.message ?? 'The provider sent an error in the stream.'), { status: 500, type: String(e.type ?? 'api_error') });
      return this.start(chunk) + errorFrame('anthropic', this.upstreamError);
    }
    let out = this.start(chunk);
    if (chunk.usage) this.usage = fromOpenAI(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    const reasoning = reasoningOf(delta);
    if (reasoning) {
      if (this.open?.kind !== 'thinking') out += this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
      out += event('content_block_delta', { index: this.open!.index, delta: { type: 'thinking_delta', thinking: reasoning } });
      this.outputChars += reasoning.length;
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      if (this.open?.kind !== 'text') out += this.openBlock('text', { type: 'text', text: '' });
      out += event('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text: delta.content } });
      this.outputChars += delta.content.length;
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      const n = typeof call.index === 'number' ? call.index : 0;
      let index = this.toolBlocks.get(n);
      if (index === undefined) {
        out += this.openBlock('tool', { type: 'tool_use', id: call.id, name: call.function?.name, input: {} });
        index = this.open!.index;
        this.toolBlocks.set(n, index);
      }
      const args = call.function?.arguments;
      if (typeof args === 'string' && args !== '') {
        out += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: args } });
        this.outputChars += args.length;
      }
    }
    if (choice.finish_reason) {
      this.stop = stopReason(choice.finish_reason);
      this.complete = true;
    }
    return out;
  }

  finish(): string {
    if (!this.complete) return '';
    const usage = toAnthropic(this.usage ?? EMPTY_USAGE);
    return (
      this.start({}) +
      this.close() +
      event('message_delta', { delta: { stop_reason: this.stop ?? 'end_turn', stop_sequence: null }, usage }) +
      event('message_stop', {})
    );
  }

}
