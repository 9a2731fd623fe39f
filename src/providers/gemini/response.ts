// Gemini answers (generateContent, and streamGenerateContent's SSE frames) as OpenAI chat completions:
// text parts to content, thought parts to reasoning_content, functionCall parts to tool_calls (with
// stable ids carrying the thought signature), finishReason to finish_reason, usageMetadata to usage.
// An answer Gemini's safety filters blocked is an error (LiteLLM's ContentPolicyViolationError), not an
// empty success: the prompt blocked (promptFeedback.blockReason), or a candidate stopped for safety.
import { randomUUID } from 'node:crypto';
import { type ErrorDialect, GatewayError } from '../../http/errors.ts';
import { chatStreamEnd, errorFrame, jsonFrames } from '../../http/sse.ts';
import { fromGemini, toOpenAI, type UsageRecord } from '../../metering/usage.ts';
import type { StreamCodec, Translated, UpstreamRequest } from '../adapter.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';
import { toolCallId } from './tool-ids.ts';

/** Finish reasons of an answer a filter stopped: the answer is withheld, in part or whole. */
const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION', 'LANGUAGE']);

export function finishReason(reason: unknown, calledTools: boolean): string | null {
  if (typeof reason !== 'string' || reason === '' || reason === 'FINISH_REASON_UNSPECIFIED') return null;
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  return calledTools ? 'tool_calls' : 'stop';
}

/** A block by Gemini's filters, as LiteLLM reports it (clients look for the exception's name). */
function blocked(why: string, fields: Record<string, unknown>): GatewayError {
  return new GatewayError('content_policy', `litellm.ContentPolicyViolationError: Gemini ${why}.`, { providerFields: fields });
}

/** Gemini's error envelope (`{"error":{"code","message","status"}}`), inside a stream. */
export function geminiStreamError(e: Record<string, any>): GatewayError {
  const status = typeof e.code === 'number' && e.code >= 400 ? e.code : 500;
  return new GatewayError('upstream_error', `gemini error: ${typeof e.message === 'string' ? e.message : String(e.status ?? 'error')}`, {
    status,
    type: status === 429 ? 'rate_limit_error' : status < 500 ? 'invalid_request_error' : 'api_error',
  });
}

interface Parsed {
  text: string;
  reasoning: string;
  calls: Record<string, unknown>[];
}

/** One candidate's parts; `firstCall` numbers its tool calls after those of earlier chunks. */
function readParts(parts: unknown, responseId: string, candidate: number, firstCall: number): Parsed {
  const out: Parsed = { text: '', reasoning: '', calls: [] };
  if (!Array.isArray(parts)) return out;
  for (const p of parts) {
    if (!p || typeof p !== 'object') continue;
    if (typeof p.text === 'string') {
      if (p.thought === true) out.reasoning += p.text;
      else out.text += p.text;
    } else if (p.executableCode && typeof p.executableCode.code === 'string') {
      // Gemini's code execution tool ran code: kept in the text as a fenced block, then its output.
      out.text += `\n\`\`\`${String(p.executableCode.language ?? 'python').toLowerCase()}\n${p.executableCode.code}\n\`\`\`\n`;
    } else if (p.codeExecutionResult && typeof p.codeExecutionResult.output === 'string') {
      out.text += `\n\`\`\`\n${p.codeExecutionResult.output}\n\`\`\`\n`;
    } else if (p.functionCall && typeof p.functionCall === 'object') {
      const fc = p.functionCall;
      const index = firstCall + out.calls.length;
      out.calls.push({
        index,
        id: toolCallId(responseId, candidate, index, fc.id, p.thoughtSignature),
        type: 'function',
        function: { name: String(fc.name ?? ''), arguments: JSON.stringify(fc.args ?? {}) },
      });
    }
  }
  return out;
}

/** Why an answer is withheld, if it is: the prompt blocked, or every candidate filtered with nothing to show. */
function blockOf(json: Record<string, any>): GatewayError | null {
  const fb = json.promptFeedback;
  if (fb?.blockReason && !(Array.isArray(json.candidates) && json.candidates.length > 0)) {
    return blocked(`blocked the prompt (blockReason ${String(fb.blockReason)})`, { promptFeedback: fb });
  }
  return null;
}

export function geminiAnswerToChat(body: Buffer, up: UpstreamRequest): Translated {
  const json = parseJsonAnswer(body);
  if (!json) return { body, usage: null, upstreamId: null };
  const usage = json.usageMetadata && typeof json.usageMetadata === 'object' ? fromGemini(json.usageMetadata) : null;
  const responseId = typeof json.responseId === 'string' && json.responseId !== '' ? json.responseId : randomUUID();
  const error = blockOf(json);
  if (error) return { body, usage, upstreamId: responseId, error };
  const candidates: Record<string, any>[] = Array.isArray(json.candidates) ? json.candidates : [];
  const choices = candidates.map((c, i) => {
    const index = typeof c.index === 'number' ? c.index : i;
    const parsed = readParts(c.content?.parts, responseId, index, 0);
    const message: Record<string, unknown> = { role: 'assistant', content: parsed.text === '' && parsed.calls.length > 0 ? null : parsed.text };
    if (parsed.reasoning !== '') message.reasoning_content = parsed.reasoning;
    if (parsed.calls.length > 0) message.tool_calls = parsed.calls.map(({ index: _, ...call }) => call);
    const finish = finishReason(c.finishReason, parsed.calls.length > 0) ?? 'stop';
    return { index, message, finish_reason: finish, logprobs: null, filtered: FILTERED.has(c.finishReason) && parsed.text === '' && parsed.calls.length === 0 };
  });
  if (choices.length > 0 && choices.every((c) => c.filtered)) {
    const c = candidates[0]!;
    return { body, usage, upstreamId: responseId, error: blocked(`withheld the answer (finishReason ${String(c.finishReason)})`, { finishReason: c.finishReason, safetyRatings: c.safetyRatings ?? [] }) };
  }
  const out = {
    id: responseId,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof json.modelVersion === 'string' ? json.modelVersion : up.model,
    choices: choices.map(({ filtered: _, ...c }) => c),
    ...(usage ? { usage: toOpenAI(usage) } : {}),
  };
  return { body: JSON.stringify(out), usage, upstreamId: responseId };
}

/**
 * streamGenerateContent's frames (each a whole GenerateContentResponse with the parts generated since
 * the last) as OpenAI chunks, one or more per frame. Gemini sends no end marker: the answer is complete
 * once a candidate has its finishReason. `errorDialect` null leaves the error frame to the caller
 * (the Anthropic codec built on this one writes its own).
 */
export class GeminiToChatStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private started = false;
  private model: string;
  private readonly created = Math.floor(Date.now() / 1000);
  /** Tool calls so far, per candidate: the next call's index. */
  private readonly calls = new Map<number, number>();
  private readonly wantsUsage: boolean;
  private readonly errorDialect: ErrorDialect | null;

  constructor(up: UpstreamRequest, errorDialect: ErrorDialect | null = 'openai') {
    this.errorDialect = errorDialect;
    this.wantsUsage = up.clientWantsUsage;
    this.model = up.model ?? '';
  }

  /** What every chunk of this answer starts with, up to the choice's index (the id and model are known by then). */
  private head = '';

  private chunk(index: number, delta: Record<string, unknown>, finish: string | null = null): string {
    // The same shape as JSON.stringify of the whole chunk, a third of the cost: only the delta is new.
    this.head ||= `data: {"id":${JSON.stringify(this.upstreamId)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(this.model)},"choices":[{"index":`;
    return `${this.head}${index},"delta":${JSON.stringify(delta)},"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`;
  }

  push(run: Buffer): string {
    let out = '';
    for (const ev of jsonFrames(run)) if (ev !== '[DONE]' && !this.upstreamError) out += this.frame(ev);
    return out;
  }

  private fail(err: GatewayError): string {
    this.upstreamError = err;
    return this.errorDialect ? errorFrame(this.errorDialect, err) : '';
  }

  private frame(ev: Record<string, any>): string {
    if (ev.error && typeof ev.error === 'object') return this.fail(geminiStreamError(ev.error));
    // Each frame's usage is the count so far: final only with the finish reason (a stream cut before it
    // is billed for the output the gateway saw, as the estimate says).
    if (ev.usageMetadata && typeof ev.usageMetadata === 'object') this.usage = { ...fromGemini(ev.usageMetadata), estimated: true };
    let out = '';
    if (!this.started) {
      this.started = true;
      this.upstreamId = typeof ev.responseId === 'string' && ev.responseId !== '' ? ev.responseId : randomUUID();
      if (typeof ev.modelVersion === 'string') this.model = ev.modelVersion;
      const block = blockOf(ev);
      if (block) return this.fail(block);
      out += this.chunk(0, { role: 'assistant', content: '' });
    }
    const candidates: Record<string, any>[] = Array.isArray(ev.candidates) ? ev.candidates : [];
    candidates.forEach((c, i) => {
      const index = typeof c.index === 'number' ? c.index : i;
      const before = this.calls.get(index) ?? 0;
      const parsed = readParts(c.content?.parts, this.upstreamId!, index, before);
      if (parsed.reasoning !== '') {
        this.outputChars += parsed.reasoning.length;
        out += this.chunk(index, { reasoning_content: parsed.reasoning });
      }
      if (parsed.text !== '') {
        this.outputChars += parsed.text.length;
        out += this.chunk(index, { content: parsed.text });
      }
      if (parsed.calls.length > 0) {
        this.calls.set(index, before + parsed.calls.length);
        for (const call of parsed.calls) this.outputChars += (call.function as { arguments: string }).arguments.length;
        out += this.chunk(index, { tool_calls: parsed.calls });
      }
      if (FILTERED.has(c.finishReason) && this.upstreamError === null) {
        // What was generated before the filter stopped it went out; the client is told why it ends.
        out += this.fail(blocked(`stopped the answer (finishReason ${String(c.finishReason)})`, { finishReason: c.finishReason, safetyRatings: c.safetyRatings ?? [] }));
        return;
      }
      const finish = finishReason(c.finishReason, (this.calls.get(index) ?? 0) > 0);
      if (finish) {
        out += this.chunk(index, {}, finish);
        this.complete = true;
      }
    });
    // (a filtered candidate's frame has the final usage too)
    if ((this.complete || this.upstreamError?.name === 'content_policy') && this.usage) this.usage.estimated = false;
    return out;
  }

  finish(): string {
    if (!this.complete || this.upstreamError) return '';
    return chatStreamEnd(this.upstreamId, this.created, this.model, this.wantsUsage && this.usage ? toOpenAI(this.usage) : null);
  }
}
