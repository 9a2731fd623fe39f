// OpenAI's legacy completions API as an inbound dialect (POST /completions, /v1/completions): a prompt
// in, text out. OpenAI-compatible servers that have the route get it as it is
// (providers/completions-via-chat.ts); for every other upstream it goes through the chat form, as LiteLLM does:
// the prompt as one user message, the answer's text as the completion's, chunk by chunk for streams.
// What has no chat counterpart (suffix, echo, logprobs, several prompts) is refused unless drop_params.
import { GatewayError } from '../http/errors.ts';
import { chatStreamEnd, jsonFrames } from '../http/sse.ts';
import { toOpenAI, type UsageRecord } from '../metering/usage.ts';
import { checkRetries, parseJsonObject, parseModel, type LlmRequest } from './openai-chat.ts';

type Obj = Record<string, any>;

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

export function parseCompletions(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  const model = parseModel(body);
  const prompt = body.prompt;
  if (prompt === undefined) throw bad('prompt', 'Missing required field: prompt.');
  const ok = typeof prompt === 'string' || (Array.isArray(prompt) && prompt.length > 0 && (prompt.every((p) => typeof p === 'string') || prompt.every((p) => typeof p === 'number') || prompt.every((p) => Array.isArray(p))));
  if (!ok) throw bad('prompt', 'prompt must be a string, an array of strings, or tokens (an array of numbers, or of arrays of them).');
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw bad('stream', 'stream must be a boolean.');
  checkRetries(body);
  return { body, model, stream: stream === true };
}

/** Completion parameters that have no chat counterpart. */
const NO_CHAT = ['suffix', 'echo', 'logprobs', 'best_of'];

/** A completions request as a chat request (the prompt as one user message). */
export function completionsToChat(body: Obj, dropParams: boolean): Obj {
  const drop = dropParams || body.drop_params === true;
  let prompt = body.prompt;
  if (Array.isArray(prompt)) {
    if (!prompt.every((p) => typeof p === 'string')) throw bad('prompt', 'prompt as tokens can only be sent to OpenAI-compatible servers that take completions; send text to this model.');
    if (prompt.length > 1) throw bad('prompt', 'prompt: one prompt a request for this model (it is answered through chat).');
    prompt = prompt[0];
  }
  const out: Obj = { model: body.model, messages: [{ role: 'user', content: prompt }] };
  for (const f of NO_CHAT) {
    const v = body[f];
    if (v === undefined || v === null || v === false || (f === 'best_of' && v === 1)) continue;
    if (!drop) throw bad(f, `${f} has no counterpart when this model answers through chat (set drop_params to leave it out).`);
  }
  for (const f of ['max_tokens', 'temperature', 'top_p', 'n', 'stop', 'presence_penalty', 'frequency_penalty', 'seed', 'user', 'logit_bias', 'stream', 'stream_options', 'num_retries', 'fallbacks', 'drop_params']) {
    if (body[f] !== undefined && body[f] !== null) out[f] = body[f];
  }
  return out;
}

const textOf = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((p: Obj) => (typeof p?.text === 'string' ? p.text : '')).join('') : '';

/** A chat completion as a text completion. */
export function chatAnswerToCompletion(chat: Obj, model: string): Obj {
  return {
    id: typeof chat.id === 'string' ? chat.id.replace(/^chatcmpl-/, 'cmpl-') : `cmpl-${Date.now()}`,
    object: 'text_completion',
    created: chat.created ?? Math.floor(Date.now() / 1000),
    model,
    choices: (Array.isArray(chat.choices) ? chat.choices : []).map((c: Obj, i: number) => ({ text: textOf(c.message?.content), index: c.index ?? i, logprobs: null, finish_reason: c.finish_reason ?? 'stop' })),
    ...(chat.usage ? { usage: chat.usage } : {}),
  };
}

/** Chat chunks (a provider codec's output) as text completion chunks; the end (usage, [DONE]) is the caller's. */
export class ChatToCompletionsChunks {
  private id: string | null = null;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly model: string;

  constructor(model: string) {
    this.model = model;
  }

  push(chat: Buffer | string): string {
    let out = '';
    for (const frame of jsonFrames(Buffer.isBuffer(chat) ? chat : Buffer.from(chat))) {
      if (frame === '[DONE]' || frame.error) continue;
      this.id ??= typeof frame.id === 'string' ? frame.id.replace(/^chatcmpl-/, 'cmpl-') : `cmpl-${this.created}`;
      for (const c of Array.isArray(frame.choices) ? frame.choices : []) {
        const text = textOf(c.delta?.content);
        if (text === '' && !c.finish_reason) continue;
        const chunk = { id: this.id, object: 'text_completion', created: this.created, model: this.model, choices: [{ text, index: c.index ?? 0, logprobs: null, finish_reason: c.finish_reason ?? null }] };
        out += `data: ${JSON.stringify(chunk)}\n\n`;
      }
    }
    return out;
  }

  end(usage: UsageRecord | null, wantsUsage: boolean): string {
    return chatStreamEnd(this.id, this.created, this.model, wantsUsage && usage ? toOpenAI(usage) : null).replace('"chat.completion.chunk"', '"text_completion"');
  }
}
