// Converse answers as Anthropic messages, whole and streamed: Converse's blocks are Anthropic's under
// other names (text, toolUse, reasoningContent with its signature), its stream a sequence of the same
// shape (a block's start, deltas, stop; the stop reason; usage last, in `metadata`). Anthropic clients
// get that; OpenAI clients get it through the gateway's Anthropic-to-chat translation (anthropic/response.ts).
// A guardrail's intervention is an error (LiteLLM's ContentPolicyViolationError) with the prompt billed.
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../http/errors.ts';
import { errorFrame } from '../../http/sse.ts';
import { fromAnthropic, type UsageRecord } from '../../metering/usage.ts';
import type { StreamCodec, Translated, UpstreamRequest } from '../adapter.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';
import { AnthropicToChatStream, anthropicAnswerToChat } from '../anthropic/response.ts';
import { bedrockError } from './errors.ts';
import { EventStreamReader } from './event-stream.ts';

type Block = Record<string, any>;

/** Converse's stop reasons as Anthropic's (which the chat translation maps to finish reasons). */
const STOP: Record<string, string> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  model_context_window_exceeded: 'model_context_window_exceeded',
  content_filtered: 'refusal',
};

/**
 * Converse's usage in Anthropic's names: input without the cached part, as both count it; cache writes
 * split by lifetime from cacheDetails (an hour's cost more than five minutes').
 */
function anthropicUsage(u: Block | undefined): Block {
  const out: Block = { input_tokens: Number(u?.inputTokens ?? 0), output_tokens: Number(u?.outputTokens ?? 0) };
  if (typeof u?.cacheReadInputTokens === 'number') out.cache_read_input_tokens = u.cacheReadInputTokens;
  if (typeof u?.cacheWriteInputTokens === 'number') {
    out.cache_creation_input_tokens = u.cacheWriteInputTokens;
    const hour = (Array.isArray(u.cacheDetails) ? u.cacheDetails : []).filter((c: Block) => c?.ttl === '1h').reduce((n: number, c: Block) => n + (Number(c.inputTokens) || 0), 0);
    if (hour > 0) out.cache_creation = { ephemeral_5m_input_tokens: Math.max(0, u.cacheWriteInputTokens - hour), ephemeral_1h_input_tokens: hour };
  }
  return out;
}

function intervened(model: string, trace: unknown): GatewayError {
  return new GatewayError('content_policy', `litellm.ContentPolicyViolationError: bedrock error (model ${model}): the guardrail intervened (stopReason guardrail_intervened).`, {
    providerFields: trace && typeof trace === 'object' ? { trace } : undefined,
  });
}

function anthropicBlock(b: Block): Block | null {
  if (typeof b.text === 'string') return { type: 'text', text: b.text };
  if (b.toolUse) return { type: 'tool_use', id: b.toolUse.toolUseId, name: b.toolUse.name, input: b.toolUse.input ?? {} };
  const r = b.reasoningContent;
  if (r?.reasoningText) return { type: 'thinking', thinking: String(r.reasoningText.text ?? ''), signature: String(r.reasoningText.signature ?? '') };
  if (r?.redactedContent !== undefined) return { type: 'redacted_thinking', data: r.redactedContent };
  // (citations, images and blocks added later have no Anthropic counterpart here)
  return null;
}

/** A Converse answer as an Anthropic message (its JSON), with the usage and, for a guardrail's block, the error. */
export function converseAnswerToAnthropic(body: Buffer, up: UpstreamRequest): Translated {
  const json = parseJsonAnswer(body);
  if (!json || !json.output) return { body, usage: null, upstreamId: null };
  const raw = anthropicUsage(json.usage);
  const usage = json.usage ? fromAnthropic(raw) : null;
  const id = `msg_bdrk_${randomUUID().replace(/-/g, '')}`;
  const model = up.model ?? '';
  if (json.stopReason === 'guardrail_intervened') return { body, usage, upstreamId: id, error: intervened(model, json.trace) };
  const content = (Array.isArray(json.output.message?.content) ? json.output.message.content : []).map(anthropicBlock).filter((b: Block | null) => b !== null);
  const msg = { id, type: 'message', role: 'assistant', model, content, stop_reason: STOP[json.stopReason] ?? 'end_turn', stop_sequence: null, usage: raw };
  return { body: JSON.stringify(msg), usage, upstreamId: id };
}

export function converseAnswerToChat(body: Buffer, up: UpstreamRequest): Translated {
  const a = converseAnswerToAnthropic(body, up);
  if (a.error || a.body === body) return a;
  return { ...anthropicAnswerToChat(Buffer.from(a.body)), usage: a.usage, upstreamId: a.upstreamId };
}

/**
 * ConverseStream's events as Anthropic's stream events (objects). Text and reasoning blocks have no
 * start event in Converse: the first delta of an index opens its block. The answer is complete with
 * `metadata` (the usage), which comes after `messageStop`.
 */
class ConverseEvents {
  usage: UsageRecord | null = null;
  readonly upstreamId = `msg_bdrk_${randomUUID().replace(/-/g, '')}`;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private readonly reader = new EventStreamReader();
  private readonly model: string;
  private started = false;
  /** Open blocks by Converse's index: the Anthropic index they were given, and their kind. */
  private readonly open = new Map<number, { index: number; kind: string }>();
  private next = 0;
  private stopReason: string | null = null;

  constructor(model: string) {
    this.model = model;
  }

  /** The Anthropic events of these bytes; a corrupt stream or an exception ends with an `error` event. */
  push(bytes: Buffer): Block[] {
    const events = this.reader.push(bytes);
    const out: Block[] = [];
    for (const ev of events) {
      if (this.upstreamError) break;
      if (ev.kind !== 'event') {
        // (an exception names itself; its status is the one AWS documents for that name)
        out.push(...this.fail(bedrockError(this.model, ev.name, String(ev.payload.message ?? ev.payload.Message ?? 'stream error'))));
        break;
      }
      this.event(ev.name, ev.payload, out);
    }
    const broken = this.reader.failure;
    if (broken && !this.upstreamError) out.push(...this.fail(new GatewayError('upstream_unreachable', `The bedrock stream could not be read (model ${this.model}): ${broken.message}`)));
    return out;
  }

  private fail(err: GatewayError): Block[] {
    this.upstreamError = err;
    return [{ type: 'error', error: { type: err.type, message: err.message } }];
  }

  private start(out: Block[]): void {
    if (this.started) return;
    this.started = true;
    out.push({
      type: 'message_start',
      message: { id: this.upstreamId, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } },
    });
  }

  private openBlock(at: number, kind: string, block: Block, out: Block[]): number {
    // (a block started where one is still open: the open one ends first, so none is left unclosed)
    const open = this.open.get(at);
    if (open) out.push({ type: 'content_block_stop', index: open.index });
    const index = this.next++;
    this.open.set(at, { index, kind });
    out.push({ type: 'content_block_start', index, content_block: block });
    return index;
  }

  private event(name: string, p: Block, out: Block[]): void {
    this.start(out);
    switch (name) {
      case 'messageStart':
        return;
      case 'contentBlockStart': {
        const tool = p.start?.toolUse;
        if (tool) this.openBlock(p.contentBlockIndex, 'tool_use', { type: 'tool_use', id: tool.toolUseId, name: tool.name, input: {} }, out);
        return;
      }
      case 'contentBlockDelta': {
        const d = p.delta ?? {};
        const at = p.contentBlockIndex;
        let open = this.open.get(at);
        if (typeof d.text === 'string') {
          const index = open?.index ?? this.openBlock(at, 'text', { type: 'text', text: '' }, out);
          this.outputChars += d.text.length;
          out.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: d.text } });
        } else if (d.toolUse && typeof d.toolUse.input === 'string' && open) {
          this.outputChars += d.toolUse.input.length;
          out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'input_json_delta', partial_json: d.toolUse.input } });
        } else if (d.reasoningContent) {
          const r = d.reasoningContent;
          if (r.redactedContent !== undefined) {
            // (a redacted block comes whole)
            this.openBlock(at, 'redacted_thinking', { type: 'redacted_thinking', data: r.redactedContent }, out);
            return;
          }
          open ??= { index: this.openBlock(at, 'thinking', { type: 'thinking', thinking: '', signature: '' }, out), kind: 'thinking' };
          if (typeof r.text === 'string') {
            this.outputChars += r.text.length;
            out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'thinking_delta', thinking: r.text } });
          }
          if (typeof r.signature === 'string') out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'signature_delta', signature: r.signature } });
        }
        return;
      }
      case 'contentBlockStop': {
        const open = this.open.get(p.contentBlockIndex);
        if (!open) return;
        this.open.delete(p.contentBlockIndex);
        out.push({ type: 'content_block_stop', index: open.index });
        return;
      }
      case 'messageStop':
        this.stopReason = String(p.stopReason ?? 'end_turn');
        return;
      case 'metadata': {
        const raw = anthropicUsage(p.usage);
        this.usage = fromAnthropic(raw);
        if (this.stopReason === 'guardrail_intervened') {
          out.push(...this.fail(intervened(this.model, p.trace)));
          return;
        }
        // (usage before the stop reason would be a stream out of order: it stays incomplete)
        if (this.stopReason === null) return;
        for (const [at, open] of this.open) {
          this.open.delete(at);
          out.push({ type: 'content_block_stop', index: open.index });
        }
        out.push({ type: 'message_delta', delta: { stop_reason: STOP[this.stopReason] ?? 'end_turn', stop_sequence: null }, usage: raw });
        out.push({ type: 'message_stop' });
        this.complete = true;
        return;
      }
      default:
        // events added later
        return;
    }
  }
}

const sse = (ev: Block) => `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;

/** What both client dialects' codecs read from the translated events. */
abstract class ConverseStream implements StreamCodec {
  readonly binary = true;
  protected readonly events: ConverseEvents;

  constructor(up: UpstreamRequest) {
    this.events = new ConverseEvents(up.model ?? '');
  }

  get usage(): UsageRecord | null {
    return this.events.usage;
  }
  get upstreamId(): string {
    return this.events.upstreamId;
  }
  get outputChars(): number {
    return this.events.outputChars;
  }
  get upstreamError(): GatewayError | null {
    return this.events.upstreamError;
  }
  get complete(): boolean {
    return this.events.complete;
  }

  abstract push(bytes: Buffer): string;
  abstract finish(): string;
}

/** ConverseStream to an Anthropic client: Anthropic's events, `message_stop` held back for `finish()`. */
export class ConverseToAnthropicStream extends ConverseStream {
  private stop = '';

  push(bytes: Buffer): string {
    let out = '';
    for (const ev of this.events.push(bytes)) {
      if (ev.type === 'message_stop') this.stop = sse(ev);
      else out += ev.type === 'error' ? errorFrame('anthropic', this.events.upstreamError!) : sse(ev);
    }
    return out;
  }

  finish(): string {
    return this.complete && !this.upstreamError ? this.stop : '';
  }
}

/** ConverseStream to an OpenAI client: the Anthropic events through the gateway's chat translation. */
export class ConverseToChatStream extends ConverseStream {
  private readonly chat: AnthropicToChatStream;

  constructor(up: UpstreamRequest) {
    super(up);
    this.chat = new AnthropicToChatStream(up);
  }

  push(bytes: Buffer): string {
    let out = '';
    for (const ev of this.events.push(bytes)) out += ev.type === 'error' ? errorFrame('openai', this.events.upstreamError!) : this.chat.event(ev);
    return out;
  }

  finish(): string {
    if (!this.complete || this.upstreamError) return '';
    this.chat.usage = this.events.usage;
    return this.chat.finish();
  }
}
