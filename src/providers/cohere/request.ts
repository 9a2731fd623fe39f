// OpenAI chat requests as Cohere v2 chat requests (POST {base}/v2/chat). v2 is close to OpenAI's form:
// roles and tool calls are the same, content parts are text and image_url; what differs is renamed
// (top_p → p, top_k → k, stop → stop_sequences, tool_choice → REQUIRED / NONE, JSON schemas as
// json_object with json_schema, reasoning as thinking with a token budget). Cohere's own fields
// (documents, citation_options, safety_mode, strict_tools, priority) pass as they are.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import type { CallPlan, UpstreamRequest } from '../adapter.ts';

type Obj = Record<string, any>;

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

/** Thinking budgets for `reasoning_effort`, as for Claude. */
const EFFORT_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096, xhigh: 8192, max: 16384 };

/** Cohere's stop sequences: at most five. */
const MAX_STOPS = 5;

/** OpenAI parameters Cohere has no counterpart for (or answers in another form): refused unless drop_params. */
const UNSUPPORTED = ['logprobs', 'top_logprobs', 'logit_bias', 'audio', 'modalities', 'prediction', 'web_search_options'];

/** Cohere's own request fields, passed as given. */
const NATIVE = ['documents', 'citation_options', 'safety_mode', 'strict_tools', 'priority'];

function textParts(content: unknown, path: string): string | Obj[] {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(path, `${path} must be a string or an array of text parts.`);
  return content.map((p: Obj, i) => {
    if (p?.type === 'text' || p?.type === 'input_text' || p?.type === 'output_text') return { type: 'text', text: String(p.text ?? '') };
    throw bad(`${path}[${i}].type`, `${path}[${i}].type "${String(p?.type)}" is only accepted in user messages.`);
  });
}

function userContent(content: unknown, path: string): string | Obj[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(path, `${path} must be a string or an array of content parts.`);
  return content.map((p: Obj, i) => {
    const at = `${path}[${i}]`;
    if (p?.type === 'text' || p?.type === 'input_text') {
      if (typeof p.text !== 'string') throw bad(`${at}.text`, `${at}.text must be a string.`);
      return { type: 'text', text: p.text };
    }
    if (p?.type === 'image_url') {
      const url = typeof p.image_url === 'string' ? p.image_url : p.image_url?.url;
      if (typeof url !== 'string') throw bad(`${at}.image_url.url`, `${at}.image_url.url must be a string.`);
      return { type: 'image_url', image_url: p.image_url?.detail ? { url, detail: p.image_url.detail } : { url } };
    }
    throw bad(`${at}.type`, `${at}.type "${String(p?.type)}" cannot be sent to Cohere models.`);
  });
}

function messages(list: Obj[]): Obj[] {
  return list.map((m, i) => {
    const path = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textParts(m.content, `${path}.content`) };
      case 'user':
        return { role: 'user', content: userContent(m.content, `${path}.content`) };
      case 'assistant': {
        const out: Obj = { role: 'assistant' };
        const content = textParts(m.content, `${path}.content`);
        if (content !== '' && !(Array.isArray(content) && content.length === 0)) out.content = content;
        if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
          out.tool_calls = m.tool_calls.map((c: Obj, j: number) => {
            if (!c || typeof c !== 'object' || typeof c.function?.name !== 'string') throw bad(`${path}.tool_calls[${j}].function.name`, `${path}.tool_calls[${j}].function.name must be a string.`);
            const args = c.function.arguments;
            return { id: String(c.id ?? ''), type: 'function', function: { name: c.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) } };
          });
          // (the plan Cohere wrote before its calls, sent back with them)
          if (typeof m.tool_plan === 'string') out.tool_plan = m.tool_plan;
        }
        // Cohere refuses an assistant turn with neither: the model said nothing.
        if (out.content === undefined && out.tool_calls === undefined) out.content = ' ';
        return out;
      }
      case 'tool':
        if (typeof m.tool_call_id !== 'string') throw bad(`${path}.tool_call_id`, `${path}.tool_call_id must be a string.`);
        return { role: 'tool', tool_call_id: m.tool_call_id, content: textParts(m.content, `${path}.content`) || ' ' };
      default:
        throw bad(`${path}.role`, `${path}.role "${String(m.role)}" cannot be sent to Cohere models.`);
    }
  });
}

function tools(list: unknown): Obj[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw bad('tools', 'tools must be an array.');
  return list.map((t: Obj, i) => {
    if (t?.type !== 'function' || typeof t.function?.name !== 'string') throw bad(`tools[${i}]`, `tools[${i}] must be a function tool with a name.`);
    const fn: Obj = { name: t.function.name, parameters: t.function.parameters ?? { type: 'object', properties: {} } };
    if (typeof t.function.description === 'string') fn.description = t.function.description;
    return { type: 'function', function: fn };
  });
}

function thinking(body: Obj): Obj | undefined {
  const t = body.thinking;
  if (t && typeof t === 'object') {
    // Anthropic's form, from Anthropic clients.
    if (t.type === 'disabled') return { type: 'disabled' };
    if (t.type === 'enabled' || t.type === 'adaptive') return typeof t.budget_tokens === 'number' ? { type: 'enabled', token_budget: t.budget_tokens } : { type: 'enabled' };
  }
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null) return undefined;
  if (effort === 'none') return { type: 'disabled' };
  const budget = typeof effort === 'string' ? EFFORT_BUDGETS[effort] : undefined;
  if (budget === undefined) throw bad('reasoning_effort', 'reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max.');
  return { type: 'enabled', token_budget: budget };
}

export function chatRequestToCohere(body: Obj, model: string, dropParams: boolean): Obj {
  const drop = dropParams || body.drop_params === true;
  const refuse = (param: string, why: string) => {
    if (!drop) throw bad(param, `${param} ${why} (set drop_params to leave it out).`);
  };
  for (const p of UNSUPPORTED) if (body[p] !== undefined && body[p] !== null && body[p] !== false) refuse(p, 'is not supported by Cohere models through this gateway');
  if (typeof body.n === 'number' && body.n > 1) refuse('n', 'above 1 is not supported by Cohere models');
  if (body.parallel_tool_calls === false) refuse('parallel_tool_calls', 'false has no counterpart in Cohere\'s API');
  const out: Obj = { model, messages: messages(body.messages) };
  let t = tools(body.tools);
  const choice = body.tool_choice;
  if (choice === 'required') out.tool_choice = 'REQUIRED';
  else if (choice === 'none') out.tool_choice = 'NONE';
  else if (choice && typeof choice === 'object') {
    // One named function: the only tool offered, and required.
    const name = choice.function?.name;
    if (typeof name !== 'string') throw bad('tool_choice.function.name', 'tool_choice.function.name must be a string.');
    t = t?.filter((x) => x.function.name === name);
    if (!t || t.length === 0) throw bad('tool_choice.function.name', `tool_choice.function.name "${name}" is not one of tools.`);
    out.tool_choice = 'REQUIRED';
  } else if (choice !== undefined && choice !== null && choice !== 'auto') throw bad('tool_choice', 'tool_choice must be "auto", "required", "none" or a function.');
  if (t && t.length > 0) out.tools = t;
  const given = body.max_completion_tokens ?? body.max_tokens;
  if (typeof given === 'number') out.max_tokens = given;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.p = body.top_p;
  if (typeof body.top_k === 'number') out.k = body.top_k;
  if (typeof body.seed === 'number') out.seed = body.seed;
  if (typeof body.frequency_penalty === 'number') out.frequency_penalty = body.frequency_penalty;
  if (typeof body.presence_penalty === 'number') out.presence_penalty = body.presence_penalty;
  if (body.stop !== undefined && body.stop !== null) {
    const stops = Array.isArray(body.stop) ? body.stop : [body.stop];
    if (!stops.every((s: unknown) => typeof s === 'string' && s !== '')) throw bad('stop', 'stop must be a non-empty string or an array of them.');
    if (stops.length > MAX_STOPS) throw bad('stop', `stop takes at most ${MAX_STOPS} sequences for Cohere models.`);
    if (stops.length > 0) out.stop_sequences = stops;
  }
  const rf = body.response_format;
  if (rf && typeof rf === 'object' && rf.type !== 'text') {
    if (rf.type === 'json_object') out.response_format = { type: 'json_object' };
    else if (rf.type === 'json_schema') {
      const schema = rf.json_schema?.schema;
      if (!schema || typeof schema !== 'object') throw bad('response_format.json_schema.schema', 'response_format.json_schema.schema must be a JSON schema object.');
      out.response_format = { type: 'json_object', json_schema: schema };
    } else throw bad('response_format.type', 'response_format.type must be text, json_object or json_schema.');
  }
  const th = thinking(body);
  if (th) out.thinking = th;
  for (const f of NATIVE) if (body[f] !== undefined && body[f] !== null) out[f] = body[f];
  if (body.stream === true) out.stream = true;
  return out;
}

/** Cohere's address: api_base may be the host or end in /v2 (or /v2/chat), as LiteLLM accepts. */
export function cohereUrl(apiBase: string, path: 'chat' | 'embed' | 'rerank'): string {
  return `${apiBase.replace(/\/v2\/(?:chat|embed|rerank)$/, '').replace(/\/v[12]$/, '')}/v2/${path}`;
}

export function cohereHeaders(d: Deployment, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    'accept-encoding': 'identity',
  };
  if (d.apiKey) headers.authorization = `Bearer ${d.apiKey}`;
  for (const [k, v] of Object.entries(d.extraHeaders)) headers[k.toLowerCase()] = v;
  return headers;
}

export function cohereRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const stream = plan.body.stream === true;
  return {
    url: cohereUrl(d.apiBase, 'chat'),
    model: upstreamModel,
    headers: cohereHeaders(d, stream),
    body: JSON.stringify(chatRequestToCohere(plan.body, upstreamModel, plan.dropParams)),
    clientWantsUsage: (plan.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
  };
}
