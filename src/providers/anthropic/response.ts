// Anthropic answers turned into OpenAI chat completions, whole and streamed: text to content, thinking
// to reasoning_content (and thinking_blocks with their signatures, so a client can send them back),
// tool_use to tool_calls, stop_reason to finish_reason, usage to OpenAI's convention.
import { GatewayError } from '../../http/errors.ts';
import { chatStreamEnd, errorFrame, jsonFrames } from '../../http/sse.ts';
import { fromAnthropic, mergeAnthropicUsage, toOpenAI, type UsageRecord } from '../../metering/usage.ts';
import type { StreamCodec, Translated, UpstreamRequest } from '../adapter.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';

const FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export const finishReason = (stop: unknown): string => FINISH[String(stop)] ?? 'stop';

/** An Anthropic error envelope (`{"type":"error","error":{…}}`) as a GatewayError, its type kept. */
export function anthropicStreamError(payload: Record<string, any>): GatewayError {
  const e = payload.error ?? {};
  const type = typeof e.type === 'string' ? e.type : 'api_error';
  const status = type === 'overloaded_error' ? 529 : type === 'rate_limit_error' ? 429 : type === 'invalid_request_error' ? 400 : 500;
  return new GatewayError('upstream_error', `anthropic error: ${typeof e.message === 'string' ? e.message : type}`, { status, type });
}

/**
 * The usage of message_start: the input side is final, the output is not (a stream cut before
 * message_delta is billed for the output the gateway saw), hence estimated until message_delta.
 */
export function provisional(raw: Record<string, unknown>): UsageRecord {
  return { ...fromAnthropic(raw), estimated: true };
}

export function anthropicAnswerToChat(body: Buffer): Translated {
  const msg = parseJsonAnswer(body);
  if (!msg || !Array.isArray(msg.content)) return { body, usage: null, upstreamId: null };
  let text = '';
  let reasoning = '';
  const thinkingBlocks: Record<string, unknown>[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  for (const block of msg.content) {
    if (!block || typeof block !== 'object') continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      reasoning += block.thinking;
      thinkingBlocks.push(block);
    } else if (block.type === 'redacted_thinking') thinkingBlocks.push(block);
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const usage = msg.usage ? fromAnthropic(msg.usage) : null;
  const message: Record<string, unknown> = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (thinkingBlocks.length > 0) {
    message.reasoning_content = reasoning;
    message.thinking_blocks = thinkingBlocks;
  }
  const out = {
    id: msg.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: msg.model,
    choices: [{ index: 0, message, finish_reason: finishReason(msg.stop_reason), logprobs: null }],
    ...(usage ? { usage: toOpenAI(usage) } : {}),
  };
  return { body: JSON.stringify(out), usage, upstreamId: typeof msg.id === 'string' ? msg.id : null };
}

interface OpenBlock {
  type: string;
  /** Index among the tool calls, for tool_use blocks. */
  tool: number;
  thinking: string;
  signature: string;
  data?: string;
}

/** Anthropic's event stream as OpenAI chunks; `message_stop` becomes the (held back) `[DONE]`. */
export class AnthropicToChatStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private model = '';
  private created = Math.floor(Date.now() / 1000);
  private readonly blocks = new Map<number, OpenBlock>();
  private tools = 0;
  private rawUsage: Record<string, unknown> = {};
  private readonly wantsUsage: boolean;

  constructor(up: UpstreamRequest) {
    this.wantsUsage = up.clientWantsUsage;
  }

  private chunk(delta: Record<string, unknown>, finish: string | null = null): string {
    const c = { id: this.upstreamId, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }] };
    return `data: ${JSON.stringify(c)}\n\n`;
  }

  push(run: Buffer): string {
    let out = '';
    for (const ev of jsonFrames(run)) if (ev !== '[DONE]') out += this.event(ev);
    return out;
  }

  /** One event, parsed (Bedrock's codec hands its translated events in without SSE). */
  event(ev: Record<string, any>): string {
    switch (ev.type) {
      case 'message_start': {
        const m = ev.message ?? {};
        this.upstreamId = typeof m.id === 'string' ? m.id : null;
        this.model = String(m.model ?? '');
        this.rawUsage = mergeAnthropicUsage({}, m.usage);
        this.usage = provisional(this.rawUsage);
        return this.chunk({ role: 'assistant', content: '' });
      }
      case 'content_block_start': {
        const b = ev.content_block ?? {};
        const open: OpenBlock = { type: b.type, tool: -1, thinking: '', signature: '', data: b.data };
        this.blocks.set(ev.index, open);
        if (b.type === 'tool_use') {
          open.tool = this.tools++;
          return this.chunk({ tool_calls: [{ index: open.tool, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }] });
        }
        if (b.type === 'text' && typeof b.text === 'string' && b.text !== '') {
          this.outputChars += b.text.length;
          return this.chunk({ content: b.text });
        }
        return '';
      }
      case 'content_block_delta': {
        const d = ev.delta ?? {};
        const open = this.blocks.get(ev.index);
        if (d.type === 'text_delta' && typeof d.text === 'string') {
          this.outputChars += d.text.length;
          return this.chunk({ content: d.text });
        }
        if (d.type === 'thinking_delta' && typeof d.thinking === 'string') {
          this.outputChars += d.thinking.length;
          if (open) open.thinking += d.thinking;
          return this.chunk({ reasoning_content: d.thinking });
        }
        if (d.type === 'signature_delta' && typeof d.signature === 'string') {
          if (open) open.signature += d.signature;
          return '';
        }
        // Only the client's own tools become tool calls (server tools run inside Anthropic).
        if (d.type === 'input_json_delta' && open?.type === 'tool_use' && typeof d.partial_json === 'string') {
          this.outputChars += d.partial_json.length;
          return this.chunk({ tool_calls: [{ index: open.tool, function: { arguments: d.partial_json } }] });
        }
        return '';
      }
      case 'content_block_stop': {
        const open = this.blocks.get(ev.index);
        this.blocks.delete(ev.index);
        // A finished thinking block goes out whole with its signature, for the client to send back.
        if (open?.type === 'thinking') return this.chunk({ thinking_blocks: [{ type: 'thinking', thinking: open.thinking, signature: open.signature }] });
        if (open?.type === 'redacted_thinking') return this.chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: open.data }] });
        return '';
      }
      case 'message_delta': {
        this.usage = fromAnthropic(mergeAnthropicUsage(this.rawUsage, ev.usage));
        return this.chunk({}, finishReason(ev.delta?.stop_reason));
      }
      case 'message_stop':
        this.complete = true;
        return '';
      case 'error':
        this.upstreamError = anthropicStreamError(ev);
        return errorFrame('openai', this.upstreamError);
      default:
        // ping, and event types added later
        return '';
    }
  }

  finish(): string {
    if (!this.complete) return '';
    return chatStreamEnd(this.upstreamId, this.created, this.model, this.wantsUsage && this.usage ? toOpenAI(this.usage) : null);
  }

}
