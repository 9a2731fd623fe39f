// Cohere v2 chat answers as OpenAI chat completions, whole and streamed: text content to content,
// thinking content to reasoning_content, tool calls as they are (v2 has OpenAI's form), the tool plan
// and citations kept beside them (tool_plan, citations), finish_reason mapped, usage from billed_units.
// Cohere's stream is SSE with its own events (message-start, content-delta, tool-call-start, ...,
// message-end with the finish reason and usage); the answer is complete at message-end.
import { type ErrorDialect, GatewayError } from '../../http/errors.ts';
import { chatStreamEnd, errorFrame, jsonFrames } from '../../http/sse.ts';
import { fromCohere, toOpenAI, type UsageRecord } from '../../metering/usage.ts';
import type { StreamCodec, Translated, UpstreamRequest } from '../adapter.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';

type Obj = Record<string, any>;

const FINISH: Record<string, string> = { COMPLETE: 'stop', STOP_SEQUENCE: 'stop', MAX_TOKENS: 'length', TOOL_CALL: 'tool_calls' };

/** A finish reason that is a failure (Cohere's ERROR, TIMEOUT), as an error. */
function failure(reason: unknown, detail: unknown, model: string): GatewayError | null {
  if (reason !== 'ERROR' && reason !== 'TIMEOUT') return null;
  const why = typeof detail === 'string' && detail !== '' ? `: ${detail}` : '';
  return reason === 'TIMEOUT'
    ? new GatewayError('upstream_timeout', `cohere error (model ${model}): the generation timed out${why}.`)
    : new GatewayError('upstream_error', `cohere error (model ${model}): the generation failed${why}.`, { status: 500, type: 'api_error' });
}

function contentOf(content: unknown): { text: string; thinking: string } {
  if (typeof content === 'string') return { text: content, thinking: '' };
  let text = '';
  let thinking = '';
  for (const c of Array.isArray(content) ? content : []) {
    if (c?.type === 'text' && typeof c.text === 'string') text += c.text;
    else if (c?.type === 'thinking' && typeof c.thinking === 'string') thinking += c.thinking;
  }
  return { text, thinking };
}

export function cohereAnswerToChat(body: Buffer, up: UpstreamRequest): Translated {
  const json = parseJsonAnswer(body);
  if (!json || !json.message) return { body, usage: null, upstreamId: null };
  const usage = json.usage && typeof json.usage === 'object' ? fromCohere(json.usage) : null;
  const id = typeof json.id === 'string' ? json.id : null;
  const error = failure(json.finish_reason, json.message?.error, up.model ?? '');
  if (error) return { body, usage, upstreamId: id, error };
  const m = json.message;
  const { text, thinking } = contentOf(m.content);
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
  const message: Obj = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (thinking !== '') message.reasoning_content = thinking;
  if (calls.length > 0) message.tool_calls = calls.map((c: Obj) => ({ id: c.id, type: 'function', function: { name: c.function?.name, arguments: c.function?.arguments ?? '{}' } }));
  if (typeof m.tool_plan === 'string' && m.tool_plan !== '') message.tool_plan = m.tool_plan;
  if (Array.isArray(m.citations) && m.citations.length > 0) message.citations = m.citations;
  const out = {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: up.model,
    choices: [{ index: 0, message, finish_reason: FINISH[json.finish_reason] ?? (calls.length > 0 ? 'tool_calls' : 'stop'), logprobs: null }],
    ...(usage ? { usage: toOpenAI(usage) } : {}),
  };
  return { body: JSON.stringify(out), usage, upstreamId: id };
}

/** Cohere's stream events as OpenAI chunks; `errorDialect` null leaves the error frame to the caller. */
export class CohereToChatStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private readonly model: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly wantsUsage: boolean;
  private readonly errorDialect: ErrorDialect | null;
  /** The kind of each open content block, by Cohere's index. */
  private readonly kinds = new Map<number, string>();

  constructor(up: UpstreamRequest, errorDialect: ErrorDialect | null = 'openai') {
    this.model = up.model ?? '';
    this.wantsUsage = up.clientWantsUsage;
    this.errorDialect = errorDialect;
  }

  private chunk(delta: Obj, finish: string | null = null): string {
    const c = { id: this.upstreamId, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }] };
    return `data: ${JSON.stringify(c)}\n\n`;
  }

  push(run: Buffer): string {
    let out = '';
    for (const ev of jsonFrames(run)) if (ev !== '[DONE]' && !this.upstreamError) out += this.event(ev);
    return out;
  }

  private fail(err: GatewayError): string {
    this.upstreamError = err;
    return this.errorDialect ? errorFrame(this.errorDialect, err) : '';
  }

  private event(ev: Obj): string {
    const m = ev.delta?.message ?? {};
    switch (ev.type) {
      case 'message-start':
        this.upstreamId = typeof ev.id === 'string' ? ev.id : null;
        return this.chunk({ role: 'assistant', content: '' });
      case 'content-start':
        this.kinds.set(ev.index, String(m.content?.type ?? 'text'));
        return this.text(m.content);
      case 'content-delta':
        return this.text(m.content, this.kinds.get(ev.index));
      case 'tool-plan-delta':
        if (typeof m.tool_plan !== 'string' || m.tool_plan === '') return '';
        this.outputChars += m.tool_plan.length;
        return this.chunk({ tool_plan: m.tool_plan });
      case 'tool-call-start': {
        const c = m.tool_calls ?? {};
        const args = typeof c.function?.arguments === 'string' ? c.function.arguments : '';
        this.outputChars += args.length;
        return this.chunk({ tool_calls: [{ index: ev.index, id: c.id, type: 'function', function: { name: c.function?.name, arguments: args } }] });
      }
      case 'tool-call-delta': {
        const args = m.tool_calls?.function?.arguments;
        if (typeof args !== 'string' || args === '') return '';
        this.outputChars += args.length;
        return this.chunk({ tool_calls: [{ index: ev.index, function: { arguments: args } }] });
      }
      case 'message-end': {
        const d = ev.delta ?? {};
        if (d.usage) this.usage = fromCohere(d.usage);
        const err = failure(d.finish_reason, d.error, this.model);
        if (err) return this.fail(err);
        this.complete = true;
        return this.chunk({}, FINISH[d.finish_reason] ?? 'stop');
      }
      default:
        // content-end, tool-call-end, citations, debug, and events added later
        return '';
    }
  }

  private text(content: Obj | undefined, kind?: string): string {
    if (!content) return '';
    const thinking = typeof content.thinking === 'string' ? content.thinking : kind === 'thinking' && typeof content.text === 'string' ? content.text : '';
    if (thinking !== '') {
      this.outputChars += thinking.length;
      return this.chunk({ reasoning_content: thinking });
    }
    if (typeof content.text === 'string' && content.text !== '') {
      this.outputChars += content.text.length;
      return this.chunk({ content: content.text });
    }
    return '';
  }

  finish(): string {
    if (!this.complete || this.upstreamError) return '';
    return chatStreamEnd(this.upstreamId, this.created, this.model, this.wantsUsage && this.usage ? toOpenAI(this.usage) : null);
  }
}
