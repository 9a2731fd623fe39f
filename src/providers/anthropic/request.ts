// Requests to Anthropic's Messages API: where they go, the headers (the deployment's key, the client's
// `anthropic-version` and `anthropic-beta`), the passthrough of an Anthropic-format body (only the model
// rewritten), and the translation of an OpenAI chat request.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import type { CallPlan, UpstreamRequest } from '../adapter.ts';
import { bedrockHeaders, bedrockUrl } from '../bedrock/target.ts';
import { geminiUrl } from '../gemini/target.ts';
import { GATEWAY_FIELDS } from '../openai/request.ts';
import { withModel } from '../raw-body.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
/** Claude on Vertex AI names the API version in the body, and the model only in the address. */
const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';
/** Claude on Bedrock (InvokeModel) likewise, with no `stream` field: streaming is its own address. */
const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';
/** max_tokens is required by Anthropic; LiteLLM's default when an OpenAI client gives none. */
export const DEFAULT_MAX_TOKENS = 4096;
/** Thinking budgets for `reasoning_effort` on models before adaptive thinking, as LiteLLM maps them. */
const EFFORT_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096, xhigh: 8192, max: 16384 };
const MIN_THINKING_BUDGET = 1024;

/**
 * Claude 4.6 and later think adaptively, steered by `output_config.effort` (a thinking budget is
 * refused from Opus 4.7 on); earlier models take a budget.
 */
export function thinksAdaptively(model: string): boolean {
  const m = /claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d+))?/.exec(model) ?? /claude-(\d+)(?:-(\d+))?-(?:opus|sonnet|haiku)/.exec(model);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = m[2] !== undefined && m[2].length <= 2 ? Number(m[2]) : 0;
  return major > 4 || (major === 4 && minor >= 6);
}

/** `api_base` may be the host, `…/v1` or the full `…/v1/messages`, as LiteLLM accepts. */
export function anthropicUrl(apiBase: string, path: 'messages' | 'messages/count_tokens' | 'models'): string {
  const base = apiBase.replace(/\/v1\/messages$/, '').replace(/\/v1$/, '');
  return `${base}/v1/${path}`;
}

/** Where a messages call goes: Anthropic's API, the model's rawPredict on Vertex AI, or its InvokeModel on Bedrock. */
function messagesUrl(d: Deployment, model: string, stream: boolean): string {
  if (d.aws) return bedrockUrl(d, stream ? 'invoke-with-response-stream' : 'invoke', model);
  return d.google ? geminiUrl(d, stream ? 'streamRawPredict' : 'rawPredict', model) : anthropicUrl(d.apiBase, 'messages');
}

export function anthropicHeaders(d: Deployment, clientHeaders: CallPlan['headers'], stream: boolean): Record<string, string> {
  // Bedrock: its own headers (the betas of Anthropic's API are refused there, as on Vertex AI).
  if (d.aws) return bedrockHeaders(d, stream);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    // Identity so that usage can be read from the answer as it passes.
    'accept-encoding': 'identity',
  };
  const token = d.tokens?.latest();
  if (token) headers.authorization = `Bearer ${token}`;
  else headers['anthropic-version'] = typeof clientHeaders['anthropic-version'] === 'string' ? clientHeaders['anthropic-version'] : ANTHROPIC_VERSION;
  if (d.apiKey && !d.tokens) headers['x-api-key'] = d.apiKey;
  const beta = clientHeaders['anthropic-beta'];
  // Vertex AI refuses the whole call for a beta it does not know, and clients (Claude Code) send
  // Anthropic's first-party ones: none go there (an operator can add some in extra_headers).
  if (typeof beta === 'string' && beta !== '' && !d.google) headers['anthropic-beta'] = beta;
  for (const [k, v] of Object.entries(d.extraHeaders)) headers[k.toLowerCase()] = v;
  return headers;
}

/** Whether the body holds what an Anthropic upstream must not get: gateway fields, `metadata` beyond `user_id`. */
function needsCleaning(body: Record<string, unknown>): boolean {
  const meta = body.metadata as Record<string, unknown> | undefined;
  const metaOk = meta === undefined || (meta !== null && typeof meta === 'object' && Object.keys(meta).every((k) => k === 'user_id'));
  return !metaOk || GATEWAY_FIELDS.some((f) => f !== 'metadata' && f in body);
}

/**
 * An Anthropic-format body for an Anthropic upstream: the model rewritten, gateway-only fields removed.
 * `metadata` is also Anthropic's own, but it takes only `user_id` (LiteLLM clients put `tags` there).
 */
export function anthropicBody(body: Record<string, unknown>, upstreamModel: string): Record<string, unknown> | null {
  if (body.model === upstreamModel && !needsCleaning(body)) return null;
  const meta = body.metadata as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = { ...body, model: upstreamModel };
  for (const f of GATEWAY_FIELDS) delete out[f];
  if (meta && typeof meta === 'object' && typeof meta.user_id === 'string') out.metadata = { user_id: meta.user_id };
  return out;
}

/**
 * A messages body for Claude on Vertex AI or Bedrock: the model left out (it is in the address), the
 * platform's version in; Bedrock streams at another address and takes no `stream` field.
 */
function forPlatform(body: Record<string, unknown>, d: Deployment): Record<string, unknown> {
  if (d.aws) {
    const { model: _, stream: __, ...rest } = body;
    return { ...rest, anthropic_version: BEDROCK_ANTHROPIC_VERSION };
  }
  const { model: _, ...rest } = body;
  return { ...rest, anthropic_version: VERTEX_ANTHROPIC_VERSION };
}

/** An Anthropic-format body to an Anthropic upstream: the client's bytes when nothing had to change. */
export function passthroughRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const { body, raw } = plan;
  const stream = body.stream === true;
  if (d.google || d.aws) {
    return {
      url: messagesUrl(d, upstreamModel, stream),
      headers: anthropicHeaders(d, plan.headers, stream),
      body: JSON.stringify(forPlatform(anthropicBody(body, upstreamModel) ?? body, d)),
      clientWantsUsage: true,
      model: upstreamModel,
      eventStream: stream && d.aws !== null,
    };
  }
  let bytes: Buffer | null = null;
  if (raw && !needsCleaning(body)) {
    // At most the model differs (Claude Code's case, 50-80 KB a turn): spliced into the client's bytes.
    bytes = body.model === upstreamModel ? raw : withModel(raw, String(body.model), upstreamModel);
  }
  return {
    url: messagesUrl(d, upstreamModel, stream),
    headers: anthropicHeaders(d, plan.headers, stream),
    body: bytes ?? JSON.stringify(anthropicBody(body, upstreamModel) ?? body),
    clientWantsUsage: true,
  };
}

// ---- OpenAI chat → Anthropic messages -------------------------------------------------------------

type Block = Record<string, unknown>;
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

function withCache(block: Block, part: Record<string, unknown>): Block {
  if (part.cache_control !== undefined) block.cache_control = part.cache_control;
  return block;
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(part: Record<string, unknown>, path: string): Block {
  const ref = part.image_url;
  const url = typeof ref === 'string' ? ref : (ref as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') throw bad(`${path}.image_url.url`, `${path}.image_url.url must be a string.`);
  const m = DATA_URL.exec(url);
  const source = m ? { type: 'base64', media_type: m[1], data: m[2] } : { type: 'url', url };
  return withCache({ type: 'image', source }, part);
}

function fileBlock(part: Record<string, unknown>, path: string): Block {
  const file = (part.file ?? {}) as { file_data?: unknown; file_id?: unknown };
  const m = typeof file.file_data === 'string' ? DATA_URL.exec(file.file_data) : null;
  if (!m) throw bad(`${path}.file`, `${path}.file: only inline file_data (a base64 data URL) can be sent to Anthropic models.`);
  return withCache({ type: 'document', source: { type: 'base64', media_type: m[1], data: m[2] } }, part);
}

/** Content (a string or parts) as Anthropic blocks; empty text is left out (Anthropic refuses it). */
function contentBlocks(content: unknown, path: string, allowMedia: boolean): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw bad(path, `${path} must be a string or an array of content parts.`);
  const blocks: Block[] = [];
  content.forEach((part: Record<string, unknown>, i) => {
    const at = `${path}[${i}]`;
    if (!part || typeof part !== 'object') throw bad(at, `${at} must be an object.`);
    switch (part.type) {
      case 'text':
      case 'input_text':
        if (typeof part.text !== 'string') throw bad(`${at}.text`, `${at}.text must be a string.`);
        if (part.text !== '') blocks.push(withCache({ type: 'text', text: part.text }, part));
        break;
      case 'refusal':
        if (typeof part.refusal === 'string' && part.refusal !== '') blocks.push({ type: 'text', text: part.refusal });
        break;
      case 'image_url':
        if (!allowMedia) throw bad(at, `${at}: images are only accepted in user messages.`);
        blocks.push(imageBlock(part, at));
        break;
      case 'file':
        if (!allowMedia) throw bad(at, `${at}: files are only accepted in user messages.`);
        blocks.push(fileBlock(part, at));
        break;
      default:
        throw bad(`${at}.type`, `${at}.type "${String(part.type)}" cannot be sent to Anthropic models.`);
    }
  });
  return blocks;
}

function thinkingBlocks(list: unknown, path: string): Block[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw bad(path, `${path} must be an array.`);
  return list.map((b, i) => {
    if (!b || (b.type !== 'thinking' && b.type !== 'redacted_thinking')) throw bad(`${path}[${i}]`, `${path}[${i}] must be a thinking or redacted_thinking block.`);
    return b as Block;
  });
}

function toolUse(call: Record<string, any>, path: string): Block {
  const fn = call?.function;
  if (typeof fn?.name !== 'string') throw bad(`${path}.function.name`, `${path}.function.name must be a string.`);
  let input: unknown = {};
  const args = fn.arguments;
  if (typeof args === 'string' && args.trim() !== '') {
    try {
      input = JSON.parse(args);
    } catch {
      throw bad(`${path}.function.arguments`, `${path}.function.arguments is not valid JSON.`);
    }
  } else if (args && typeof args === 'object') input = args;
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad(`${path}.function.arguments`, `${path}.function.arguments must be a JSON object.`);
  return { type: 'tool_use', id: String(call.id ?? ''), name: fn.name, input };
}

function toolResultContent(content: unknown, path: string): string | Block[] {
  if (typeof content === 'string') return content;
  return contentBlocks(content, path, true);
}

function messagesToTurns(messages: Record<string, any>[]): { system: Block[]; turns: Turn[] } {
  const system: Block[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    // Anthropic wants user and assistant turns to alternate: consecutive ones are merged.
    if (last && last.role === role) for (const b of blocks) last.content.push(b);
    else turns.push({ role, content: blocks });
  };
  messages.forEach((m, i) => {
    const path = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        for (const b of contentBlocks(m.content, `${path}.content`, false)) system.push(b);
        break;
      case 'user':
        push('user', contentBlocks(m.content, `${path}.content`, true));
        break;
      case 'assistant': {
        // Thinking blocks go back first and byte for byte: their signatures are checked upstream.
        const blocks: Block[] = thinkingBlocks(m.thinking_blocks, `${path}.thinking_blocks`);
        for (const b of contentBlocks(m.content, `${path}.content`, false)) blocks.push(b);
        if (Array.isArray(m.tool_calls)) m.tool_calls.forEach((c, j) => blocks.push(toolUse(c, `${path}.tool_calls[${j}]`)));
        push('assistant', blocks);
        break;
      }
      case 'tool':
        if (typeof m.tool_call_id !== 'string') throw bad(`${path}.tool_call_id`, `${path}.tool_call_id must be a string.`);
        push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: toolResultContent(m.content, `${path}.content`) }]);
        break;
      default:
        throw bad(`${path}.role`, `${path}.role "${String(m.role)}" cannot be sent to Anthropic models.`);
    }
  });
  return { system, turns };
}

function toolChoice(choice: unknown, parallel: unknown): Block | undefined {
  let out: Block | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name !== 'string') throw bad('tool_choice.function.name', 'tool_choice.function.name must be a string.');
    out = { type: 'tool', name };
  } else if (choice !== undefined && choice !== null) throw bad('tool_choice', 'tool_choice must be "auto", "required", "none" or a function.');
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function tools(list: unknown): Block[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw bad('tools', 'tools must be an array.');
  return list.map((t: Record<string, any>, i) => {
    const fn = t?.function;
    if (t?.type !== 'function' || typeof fn?.name !== 'string') throw bad(`tools[${i}]`, `tools[${i}] must be a function tool with a name.`);
    const out: Block = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') out.description = fn.description;
    if (t.cache_control !== undefined) out.cache_control = t.cache_control;
    return out;
  });
}

/** OpenAI parameters Anthropic has no counterpart for: refused unless `drop_params`. */
const UNSUPPORTED = ['logprobs', 'top_logprobs', 'logit_bias', 'presence_penalty', 'frequency_penalty', 'seed', 'audio', 'modalities', 'prediction'];
/** Anthropic's own fields an OpenAI client may send through the gateway (as LiteLLM lets it). */
const NATIVE = ['top_k', 'thinking', 'output_config', 'service_tier', 'context_management'];

export function chatRequestToAnthropic(body: Record<string, any>, upstreamModel: string, dropParams: boolean): Record<string, unknown> {
  const drop = dropParams || body.drop_params === true;
  const refuse = (param: string, why: string) => {
    if (!drop) throw bad(param, `${param} ${why} (set drop_params to leave it out).`);
  };
  for (const p of UNSUPPORTED) if (body[p] !== undefined && body[p] !== null && body[p] !== false) refuse(p, 'is not supported by Anthropic models');
  if (typeof body.n === 'number' && body.n > 1) refuse('n', 'above 1 is not supported by Anthropic models');

  const { system, turns } = messagesToTurns(body.messages);
  const out: Record<string, unknown> = { model: upstreamModel, messages: turns };
  if (system.length > 0) out.system = system;
  const given = body.max_completion_tokens ?? body.max_tokens;
  let maxTokens = typeof given === 'number' ? given : DEFAULT_MAX_TOKENS;
  for (const f of ['temperature', 'top_p', ...NATIVE]) if (body[f] !== undefined && body[f] !== null) out[f] = body[f];
  if (body.stop !== undefined && body.stop !== null) {
    const stops = Array.isArray(body.stop) ? body.stop : [body.stop];
    if (!stops.every((s) => typeof s === 'string' && s !== '')) throw bad('stop', 'stop must be a non-empty string or an array of them.');
    if (stops.length > 0) out.stop_sequences = stops;
  }
  if (body.stream === true) out.stream = true;
  const t = tools(body.tools);
  if (t) out.tools = t;
  const tc = toolChoice(body.tool_choice, body.parallel_tool_calls);
  if (tc) out.tool_choice = tc;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };

  const outputConfig: Record<string, unknown> = {};
  const effort = body.reasoning_effort;
  if (typeof effort === 'string' && out.thinking === undefined) {
    const budget = EFFORT_BUDGETS[effort];
    if (budget !== undefined && thinksAdaptively(upstreamModel)) {
      out.thinking = { type: 'adaptive' };
      outputConfig.effort = effort === 'minimal' ? 'low' : effort;
    } else if (budget !== undefined) {
      out.thinking = { type: 'enabled', budget_tokens: budget };
      // The thinking budget is part of max_tokens and must stay below it.
      if (typeof given !== 'number') maxTokens = budget + DEFAULT_MAX_TOKENS;
      else if (given <= budget) {
        if (given - 1 < MIN_THINKING_BUDGET) throw bad('max_tokens', `max_tokens must be above ${MIN_THINKING_BUDGET} with reasoning_effort (Anthropic's smallest thinking budget).`);
        out.thinking = { type: 'enabled', budget_tokens: given - 1 };
      }
    } else if (effort !== 'none') throw bad('reasoning_effort', 'reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max.');
  }
  out.max_tokens = maxTokens;

  const rf = body.response_format;
  if (rf && typeof rf === 'object' && rf.type !== 'text') {
    if (rf.type === 'json_schema' && rf.json_schema?.schema && typeof rf.json_schema.schema === 'object') {
      // Native structured output (generally available: no beta header).
      outputConfig.format = { type: 'json_schema', schema: rf.json_schema.schema };
    } else if (rf.type === 'json_schema') {
      throw bad('response_format.json_schema.schema', 'response_format.json_schema.schema must be a JSON schema object.');
    } else refuse('response_format', `of type "${String(rf.type)}" has no Anthropic counterpart: use json_schema`);
  }
  if (Object.keys(outputConfig).length > 0) out.output_config = { ...(body.output_config as object | undefined), ...outputConfig };
  return out;
}

export function translatedRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const body = chatRequestToAnthropic(plan.body, upstreamModel, plan.dropParams);
  const stream = plan.body.stream === true;
  return {
    url: messagesUrl(d, upstreamModel, stream),
    headers: anthropicHeaders(d, plan.headers, stream),
    body: JSON.stringify(d.google || d.aws ? forPlatform(body, d) : body),
    clientWantsUsage: (plan.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
    model: upstreamModel,
    eventStream: stream && d.aws !== null,
  };
}
