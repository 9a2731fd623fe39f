// OpenAI chat answers in Anthropic's Messages form, for Anthropic clients of OpenAI-wire deployments:
// whole messages, and streams as Anthropic's exact event sequence (message_start, content blocks
// opened, filled and closed one at a time, message_delta with the usage, message_stop). Text and
// thinking stream as they come; tool calls go out whole once complete, since OpenAI-compatible
// servers may interleave the arguments of parallel calls, which Anthropic's sequence cannot express.
import type { GatewayError } from '../http/errors.ts';
import { errorFrame, jsonFrames } from '../http/sse.ts';
import { EMPTY_USAGE, fromOpenAI, toAnthropic, type UsageRecord } from '../metering/usage.ts';
import type { StreamCodec, Translated } from '../providers/adapter.ts';
import { openaiStreamError, parseJsonAnswer } from '../providers/openai/passthrough.ts';

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
  const refused = typeof m.refusal === 'string' && m.refusal !== '';
  if (refused) content.push({ type: 'text', text: m.refusal });
  for (const c of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
    if (c && typeof c === 'object') content.push({ type: 'tool_use', id: c.id, name: c.function?.name, input: toolInput(c.function?.arguments) });
  }
  const usage = json.usage ? fromOpenAI(json.usage) : null;
  const out = {
    id: json.id,
    type: 'message',
    role: 'assistant',
    model: json.model,
    content,
    stop_reason: refused ? 'refusal' : stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: toAnthropic(usage ?? EMPTY_USAGE),
  };
  return { body: JSON.stringify(out), usage, upstreamId: typeof json.id === 'string' ? json.id : null };
}

interface ToolCall {
  id: string;
  name: string;
  args: string;
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
  private open: { index: number; kind: 'text' | 'thinking' } | null = null;
  private nextIndex = 0;
  /** Tool calls in the order they began, and the one each OpenAI index is filling. */
  private readonly tools: ToolCall[] = [];
  private readonly toolAt = new Map<number, ToolCall>();
  private stop: string | null = null;

  push(run: Buffer): string {
    let out = '';
    for (const chunk of jsonFrames(run)) {
      if (chunk === '[DONE]') this.complete = true;
      else out += this.chunk(chunk);
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

  private openBlock(kind: 'text' | 'thinking', block: Record<string, unknown>): string {
    const out = this.close();
    this.open = { index: this.nextIndex++, kind };
    return out + event('content_block_start', { index: this.open.index, content_block: block });
  }

  private chunk(chunk: Record<string, any>): string {
    if (chunk.error) {
      this.upstreamError = openaiStreamError(chunk.error);
      return this.start(chunk) + errorFrame('anthropic', this.upstreamError);
    }
    let out = this.start(chunk);
    if (chunk.usage) this.usage = fromOpenAI(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    const text = typeof delta.content === 'string' && delta.content !== '' ? delta.content : typeof delta.refusal === 'string' ? delta.refusal : '';
    const reasoning = reasoningOf(delta);
    if (reasoning) {
      if (this.open?.kind !== 'thinking') out += this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
      out += event('content_block_delta', { index: this.open!.index, delta: { type: 'thinking_delta', thinking: reasoning } });
      this.outputChars += reasoning.length;
    }
    if (text !== '') {
      if (this.open?.kind !== 'text') out += this.openBlock('text', { type: 'text', text: '' });
      out += event('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text } });
      this.outputChars += text.length;
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (!call || typeof call !== 'object') continue;
      const n = typeof call.index === 'number' ? call.index : 0;
      let tool = this.toolAt.get(n);
      // A new id at a known index is a new call (some servers number every call 0).
      if (!tool || (typeof call.id === 'string' && call.id !== '' && tool.id !== '' && call.id !== tool.id)) {
        tool = { id: '', name: '', args: '' };
        this.tools.push(tool);
        this.toolAt.set(n, tool);
      }
      if (typeof call.id === 'string' && call.id !== '') tool.id = call.id;
      // The name comes whole in the call's first chunk (some servers repeat it later).
      if (typeof call.function?.name === 'string' && tool.name === '') tool.name = call.function.name;
      const args = call.function?.arguments;
      if (typeof args === 'string') {
        tool.args += args;
        this.outputChars += args.length;
      }
    }
    if (choice.finish_reason) {
      this.stop = stopReason(choice.finish_reason);
      this.complete = true;
    }
    return out;
  }

  /** The tool calls as whole tool_use blocks, after the text and thinking. */
  private toolBlocks(): string {
    let out = this.close();
    for (const t of this.tools) {
      const index = this.nextIndex++;
      out += event('content_block_start', { index, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} } });
      out += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: t.args } });
      out += event('content_block_stop', { index });
    }
    return out;
  }

  finish(): string {
    if (!this.complete) return '';
    const usage = toAnthropic(this.usage ?? EMPTY_USAGE);
    return (
      this.start({}) +
      this.toolBlocks() +
      event('message_delta', { delta: { stop_reason: this.stop ?? 'end_turn', stop_sequence: null }, usage }) +
      event('message_stop', {})
    );
  }
}
