// Chat completions answers (whole, and chunk by chunk) as OpenAI Responses API answers, for Responses
// clients of upstreams that answer in the chat form: reasoning to a reasoning item (its summary the
// reasoning text; a provider's signed thinking kept in encrypted_content, for the next turn), text to a
// message item, tool calls to function_call items (custom_tool_call items for the request's custom
// tools), finish_reason to the response's status, usage to the Responses form. Streams get the
// reference's event sequence with sequence numbers: response.created, response.in_progress, per item
// output_item.added, its parts and deltas and their .done events, output_item.done, then
// response.completed (held back until the spend record is journaled) or response.incomplete; a failure
// is response.failed followed by an error event (the SDKs raise on it).
import { randomBytes } from 'node:crypto';
import type { GatewayError } from '../http/errors.ts';
import { jsonFrames } from '../http/sse.ts';
import { promptTokens, type UsageRecord } from '../metering/usage.ts';
import { THINKING_PREFIX } from './responses.ts';

type Obj = Record<string, any>;

export const newId = (prefix: string): string => `${prefix}_${randomBytes(16).toString('hex')}`;

export function responsesUsage(u: UsageRecord | null): Obj | null {
  if (!u) return null;
  const input = promptTokens(u);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cacheRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: input + u.output,
  };
}

/** A Response object with the request's settings echoed, as OpenAI answers. */
export function responseObject(req: Obj, id: string, status: string, output: Obj[], usage: Obj | null, extra: Obj = {}): Obj {
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    model: req.model,
    output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: req.reasoning?.summary ?? null },
    store: req.store ?? true,
    temperature: req.temperature ?? 1,
    text: req.text ?? { format: { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: req.tools ?? [],
    top_p: req.top_p ?? 1,
    truncation: req.truncation ?? 'disabled',
    user: req.user ?? null,
    metadata: req.metadata ?? {},
    usage,
    ...extra,
  };
}

/** The status a chat finish reason gives a response, and why it is incomplete. */
function statusOf(finish: unknown): { status: string; incomplete: Obj | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

const encrypted = (blocks: Obj[]): string | null => (blocks.length > 0 ? THINKING_PREFIX + Buffer.from(JSON.stringify(blocks)).toString('base64url') : null);

function reasoningItem(id: string, text: string, blocks: Obj[], streamed = false): Obj {
  // (a streamed item had its summary part added: it is there, empty or not)
  return { type: 'reasoning', id, summary: text === '' && !streamed ? [] : [{ type: 'summary_text', text }], encrypted_content: encrypted(blocks) };
}

function callItem(id: string, callId: string, name: string, args: string, custom: boolean): Obj {
  if (!custom) return { type: 'function_call', id, call_id: callId, name, arguments: args, status: 'completed' };
  let input = args;
  try {
    const v = JSON.parse(args);
    if (v && typeof v.input === 'string') input = v.input;
  } catch {
    // not the JSON the function form asked for: the text as it came
  }
  return { type: 'custom_tool_call', id, call_id: callId, name, input, status: 'completed' };
}

/** A whole chat completion (the provider's, translated to chat) as a Response. */
export function chatAnswerToResponse(chat: Obj, req: Obj, custom: Set<string>, usage: UsageRecord | null, id: string): Obj {
  const choice = chat.choices?.[0] ?? {};
  const m = choice.message ?? {};
  const output: Obj[] = [];
  const reasoning = typeof m.reasoning_content === 'string' ? m.reasoning_content : typeof m.reasoning === 'string' ? m.reasoning : '';
  const blocks = Array.isArray(m.thinking_blocks) ? m.thinking_blocks : [];
  if (reasoning !== '' || blocks.length > 0) output.push(reasoningItem(newId('rs'), reasoning, blocks));
  const text = typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((p: Obj) => (typeof p?.text === 'string' ? p.text : '')).join('') : '';
  if (text !== '') {
    output.push({ type: 'message', id: newId('msg'), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] });
  }
  if (typeof m.refusal === 'string' && m.refusal !== '') {
    output.push({ type: 'message', id: newId('msg'), status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: m.refusal }] });
  }
  for (const c of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
    const name = String(c.function?.name ?? '');
    output.push(callItem(newId('fc'), String(c.id ?? newId('call')), name, String(c.function?.arguments ?? ''), custom.has(name)));
  }
  const { status, incomplete } = statusOf(choice.finish_reason);
  // (the item the answer was cut in is incomplete, as OpenAI says; reasoning items have no status)
  const last = output[output.length - 1];
  if (status === 'incomplete' && last && last.type !== 'reasoning') last.status = 'incomplete';
  return responseObject(req, id, status, output, responsesUsage(usage), { incomplete_details: incomplete });
}

interface OpenItem {
  /** A refusal is a message whose one part is the refusal. */
  kind: 'reasoning' | 'message' | 'refusal' | 'call';
  index: number;
  id: string;
  text: string;
  /** A call's */
  callId?: string;
  name?: string;
  custom?: boolean;
  blocks?: Obj[];
}

/**
 * Turns the chat frames a provider codec gives (its client-bound output) into Responses events. The
 * caller passes every chat run in and the usage, completeness and errors of the provider's codec.
 */
export class ChatToResponsesEvents {
  private seq = 0;
  private started = false;
  private readonly output: Obj[] = [];
  private open: OpenItem | null = null;
  /** Tool calls by the chat index, the item each became. */
  private readonly calls = new Map<number, OpenItem>();
  private finish: unknown = null;
  private failed = false;
  /** Set once the answer is complete: the items closed then are its last. */
  private ending = false;
  readonly id: string;
  private readonly req: Obj;
  private readonly custom: Set<string>;
  /** Generated characters seen (reasoning, text, arguments). */
  outputChars = 0;
  /** The final Response, once completed() made it. */
  final: Obj | null = null;

  constructor(req: Obj, custom: Set<string>, id: string) {
    this.req = req;
    this.custom = custom;
    this.id = id;
  }

  private ev(type: string, data: Obj): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...data })}\n\n`;
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const r = responseObject(this.req, this.id, 'in_progress', [], null);
    return this.ev('response.created', { response: r }) + this.ev('response.in_progress', { response: r });
  }

  /** Chat frames in (a provider codec's output), Responses events out; `error` frames end the stream. */
  push(chat: Buffer | string): string {
    if (this.failed) return '';
    let out = this.start();
    for (const frame of jsonFrames(Buffer.isBuffer(chat) ? chat : Buffer.from(chat))) {
      if (frame === '[DONE]') continue;
      if (frame.error) continue; // (the provider codec reports it as upstreamError: failed() writes it)
      const c = frame.choices?.[0];
      if (!c) continue;
      out += this.delta(c.delta ?? {});
      if (c.finish_reason) this.finish = c.finish_reason;
    }
    return out;
  }

  private delta(d: Obj): string {
    let out = '';
    const reasoning = typeof d.reasoning_content === 'string' ? d.reasoning_content : typeof d.reasoning === 'string' ? d.reasoning : '';
    if (reasoning !== '') {
      out += this.openReasoning();
      this.open!.text += reasoning;
      this.outputChars += reasoning.length;
      out += this.ev('response.reasoning_summary_text.delta', { item_id: this.open!.id, output_index: this.open!.index, summary_index: 0, delta: reasoning });
    }
    if (Array.isArray(d.thinking_blocks) && d.thinking_blocks.length > 0) {
      out += this.openReasoning();
      this.open!.blocks!.push(...d.thinking_blocks);
    }
    if (typeof d.content === 'string' && d.content !== '') {
      // (text after calls: a message of its own, the calls still open)
      out += this.openMessage('message');
      this.open!.text += d.content;
      this.outputChars += d.content.length;
      out += this.ev('response.output_text.delta', { item_id: this.open!.id, output_index: this.open!.index, content_index: 0, delta: d.content, logprobs: [] });
    }
    if (typeof d.refusal === 'string' && d.refusal !== '') {
      out += this.openMessage('refusal');
      this.open!.text += d.refusal;
      this.outputChars += d.refusal.length;
      out += this.ev('response.refusal.delta', { item_id: this.open!.id, output_index: this.open!.index, content_index: 0, delta: d.refusal });
    }
    for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
      const at = typeof t.index === 'number' ? t.index : 0;
      let call = this.calls.get(at);
      if (!call) {
        // (the text or reasoning before ends; calls stay open to the end: a server may interleave
        // the arguments of parallel calls)
        if (this.open) out += this.close();
        const name = String(t.function?.name ?? '');
        call = { kind: 'call', index: this.output.length, id: newId('fc'), text: '', callId: String(t.id ?? newId('call')), name, custom: this.custom.has(name) };
        this.output.push({});
        this.calls.set(at, call);
        const item = call.custom
          ? { type: 'custom_tool_call', id: call.id, call_id: call.callId, name, input: '', status: 'in_progress' }
          : { type: 'function_call', id: call.id, call_id: call.callId, name, arguments: '', status: 'in_progress' };
        out += this.ev('response.output_item.added', { output_index: call.index, item });
      }
      const args = t.function?.arguments;
      if (typeof args === 'string' && args !== '') {
        call.text += args;
        this.outputChars += args.length;
        // (a custom tool's input is JSON-wrapped in the function form: it is given whole at its end)
        if (!call.custom) out += this.ev('response.function_call_arguments.delta', { item_id: call.id, output_index: call.index, delta: args });
      }
    }
    return out;
  }

  /** A message item open for text (an output_text part) or a refusal (a refusal part), the open item closed first. */
  private openMessage(kind: 'message' | 'refusal'): string {
    if (this.open?.kind === kind) return '';
    let out = this.close();
    const item: OpenItem = { kind, index: this.output.length, id: newId('msg'), text: '' };
    this.output.push({});
    this.open = item;
    const part = kind === 'message' ? { type: 'output_text', text: '', annotations: [] } : { type: 'refusal', refusal: '' };
    out += this.ev('response.output_item.added', { output_index: item.index, item: { type: 'message', id: item.id, status: 'in_progress', role: 'assistant', content: [] } });
    out += this.ev('response.content_part.added', { item_id: item.id, output_index: item.index, content_index: 0, part });
    return out;
  }

  private openReasoning(): string {
    if (this.open?.kind === 'reasoning') return '';
    let out = this.close();
    const item: OpenItem = { kind: 'reasoning', index: this.output.length, id: newId('rs'), text: '', blocks: [] };
    this.output.push({});
    this.open = item;
    out += this.ev('response.output_item.added', { output_index: item.index, item: { type: 'reasoning', id: item.id, summary: [] } });
    out += this.ev('response.reasoning_summary_part.added', { item_id: item.id, output_index: item.index, summary_index: 0, part: { type: 'summary_text', text: '' } });
    return out;
  }

  /** Ends the open text or reasoning item (or the call given) with its .done events. */
  private close(call?: OpenItem): string {
    const o = call ?? this.open;
    if (!o) return '';
    if (!call) this.open = null;
    let out = '';
    let item: Obj;
    if (o.kind === 'reasoning') {
      out += this.ev('response.reasoning_summary_text.done', { item_id: o.id, output_index: o.index, summary_index: 0, text: o.text });
      out += this.ev('response.reasoning_summary_part.done', { item_id: o.id, output_index: o.index, summary_index: 0, part: { type: 'summary_text', text: o.text } });
      item = reasoningItem(o.id, o.text, o.blocks ?? [], true);
    } else if (o.kind === 'message') {
      const part = { type: 'output_text', text: o.text, annotations: [], logprobs: [] };
      out += this.ev('response.output_text.done', { item_id: o.id, output_index: o.index, content_index: 0, text: o.text, logprobs: [] });
      out += this.ev('response.content_part.done', { item_id: o.id, output_index: o.index, content_index: 0, part });
      item = { type: 'message', id: o.id, status: this.cutStatus(o), role: 'assistant', content: [part] };
    } else if (o.kind === 'refusal') {
      const part = { type: 'refusal', refusal: o.text };
      out += this.ev('response.refusal.done', { item_id: o.id, output_index: o.index, content_index: 0, refusal: o.text });
      out += this.ev('response.content_part.done', { item_id: o.id, output_index: o.index, content_index: 0, part });
      item = { type: 'message', id: o.id, status: this.cutStatus(o), role: 'assistant', content: [part] };
    } else {
      item = callItem(o.id, o.callId!, o.name!, o.text, o.custom === true);
      item.status = this.cutStatus(o);
      if (o.custom) out += this.ev('response.custom_tool_call_input.done', { item_id: o.id, output_index: o.index, input: item.input });
      else out += this.ev('response.function_call_arguments.done', { item_id: o.id, output_index: o.index, name: o.name, arguments: o.text });
    }
    this.output[o.index] = item;
    return out + this.ev('response.output_item.done', { output_index: o.index, item });
  }

  /** An item's status: the last one of an answer cut short (max tokens, a filter) is incomplete, as OpenAI says. */
  private cutStatus(o: OpenItem): string {
    return this.ending && o.index === this.output.length - 1 && statusOf(this.finish).status === 'incomplete' ? 'incomplete' : 'completed';
  }

  /** The last events of a complete answer: the open item closed, then response.completed (or .incomplete). */
  completed(usage: UsageRecord | null): string {
    this.ending = true;
    let out = this.start() + this.close();
    for (const call of this.calls.values()) out += this.close(call);
    const { status, incomplete } = statusOf(this.finish);
    const r = responseObject(this.req, this.id, status, this.output, responsesUsage(usage), { incomplete_details: incomplete });
    this.final = r;
    out += this.ev(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: r });
    return out;
  }

  /** A failure: response.failed with the error, then an error event (which the SDKs raise). */
  failedWith(err: GatewayError, usage: UsageRecord | null): string {
    if (this.failed) return '';
    this.failed = true;
    const error = { code: err.type, message: err.message, type: err.type, param: err.param };
    let out = this.start();
    const r = responseObject(this.req, this.id, 'failed', this.output.filter((o) => o.type), responsesUsage(usage), { error: { code: err.type, message: err.message } });
    out += this.ev('response.failed', { response: r });
    out += this.ev('error', { code: err.type, message: err.message, param: err.param, error });
    return out;
  }
}
