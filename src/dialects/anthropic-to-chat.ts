// An Anthropic Messages request in the OpenAI chat form, for OpenAI-wire deployments: system to a
// system message, content blocks to parts, tool_use / tool_result to tool_calls / tool messages,
// tool definitions and choice, stop sequences, thinking to reasoning_effort where the model reasons.
import type { Deployment } from '../config/load.ts';
import { GatewayError } from '../http/errors.ts';

type Part = Record<string, unknown>;
type Message = Record<string, unknown>;

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b) => b?.type === 'text' && typeof b?.text === 'string')
    .map((b) => b.text as string)
    .join('\n');
}

function mediaPart(block: Record<string, any>, path: string): Part {
  const src = block.source ?? {};
  if (src.type === 'base64') {
    const url = `data:${src.media_type};base64,${src.data}`;
    return block.type === 'image' ? { type: 'image_url', image_url: { url } } : { type: 'file', file: { file_data: url } };
  }
  if (src.type === 'url' && block.type === 'image') return { type: 'image_url', image_url: { url: src.url } };
  if (src.type === 'text') return { type: 'text', text: String(src.data ?? '') };
  throw bad(`${path}.source`, `${path}.source of type "${String(src.type)}" cannot be sent to this model.`);
}

/** User content: tool results become tool messages (first, as OpenAI wants them after the call). */
function userMessages(content: unknown, path: string): Message[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const tools: Message[] = [];
  const parts: Part[] = [];
  (content as Record<string, any>[]).forEach((b, i) => {
    const at = `${path}.${i}`;
    switch (b?.type) {
      case 'text':
        if (typeof b.text !== 'string') throw bad(`${at}.text`, `${at}.text must be a string.`);
        parts.push({ type: 'text', text: b.text });
        break;
      case 'image':
      case 'document':
        parts.push(mediaPart(b, at));
        break;
      case 'tool_result': {
        // OpenAI's tool messages have no error flag: an error says so in its text.
        const text = textOf(b.content);
        tools.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error === true ? `Error: ${text}` : text });
        break;
      }
      default:
        // thinking and other assistant-side blocks have no place in a user message
        break;
    }
  });
  const out = [...tools];
  if (parts.length > 0) {
    // Text only goes as a plain string: every OpenAI-compatible server takes that.
    const plain = parts.every((p) => p.type === 'text');
    out.push({ role: 'user', content: plain ? parts.map((p) => p.text).join('\n') : parts });
  }
  return out;
}

function assistantMessage(content: unknown): Message {
  if (typeof content === 'string') return { role: 'assistant', content };
  let text = '';
  const calls: Record<string, unknown>[] = [];
  for (const b of content as Record<string, any>[]) {
    if (b?.type === 'text' && typeof b.text === 'string') text += b.text;
    else if (b?.type === 'tool_use') calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    // Thinking blocks are Anthropic's own: signed for Anthropic models, meaningless to others.
  }
  const m: Message = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) m.tool_calls = calls;
  return m;
}

function tools(list: unknown, drop: boolean): Part[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: Part[] = [];
  list.forEach((t: Record<string, any>, i) => {
    if (t?.type !== undefined && t.type !== 'custom') {
      // Server tools (web search, code execution, …) run inside Anthropic's service.
      if (drop) return;
      throw bad(`tools.${i}`, `tools.${i} is Anthropic's server tool "${String(t.type)}", which only Anthropic models can run (set drop_params to leave it out).`);
    }
    if (typeof t?.name !== 'string') throw bad(`tools.${i}.name`, `tools.${i}.name must be a string.`);
    const fn: Part = { name: t.name, parameters: t.input_schema ?? { type: 'object', properties: {} } };
    if (typeof t.description === 'string') fn.description = t.description;
    out.push({ type: 'function', function: fn });
  });
  return out;
}

function toolChoice(choice: Record<string, any> | undefined): unknown {
  switch (choice?.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
    default:
      return undefined;
  }
}

/** Thinking (a budget, or adaptive with an effort) as OpenAI's reasoning effort. */
function effort(thinking: Record<string, any> | undefined, outputEffort: unknown): string | undefined {
  if (!thinking || thinking.type === 'disabled') return undefined;
  const budget = Number(thinking.budget_tokens);
  if (thinking.type === 'enabled' && Number.isFinite(budget)) return budget <= 1024 ? 'low' : budget <= 2048 ? 'medium' : 'high';
  return outputEffort === 'low' || outputEffort === 'medium' || outputEffort === 'high' ? outputEffort : outputEffort ? 'high' : 'medium';
}

export function anthropicRequestToChat(body: Record<string, any>, d: Deployment, dropParams: boolean): Record<string, unknown> {
  const drop = dropParams || body.drop_params === true;
  const messages: Message[] = [];
  const system = textOf(body.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  (body.messages as Record<string, any>[]).forEach((m, i) => {
    if (m.role === 'user') for (const u of userMessages(m.content, `messages.${i}.content`)) messages.push(u);
    else if (m.role === 'system') messages.push({ role: 'system', content: textOf(m.content) });
    else messages.push(assistantMessage(m.content));
  });
  const out: Record<string, unknown> = { model: body.model, messages };
  // Coding agents ask for more output than many models allow: the configured maximum caps it.
  const cap = Number(d.modelInfo.max_output_tokens ?? d.modelInfo.max_tokens ?? Infinity);
  const maxTokens = Math.min(body.max_tokens, cap);
  // OpenAI's own models take only max_completion_tokens now; other servers know max_tokens.
  out[d.provider === 'openai' ? 'max_completion_tokens' : 'max_tokens'] = maxTokens;
  for (const f of ['temperature', 'top_p']) if (typeof body[f] === 'number') out[f] = body[f];
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  if (body.stream === true) out.stream = true;
  const t = tools(body.tools, drop);
  if (t && t.length > 0) {
    out.tools = t;
    const choice = toolChoice(body.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (body.tool_choice?.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  }
  // OpenAI's `user` is a short id; Claude Code's user_id is a JSON document, which is not passed.
  const userId = body.metadata?.user_id;
  if (typeof userId === 'string' && userId.length <= 64) out.user = userId;
  // Only models configured as reasoning ones take reasoning_effort (others refuse it).
  const reasoning = d.modelInfo.supports_reasoning === true ? effort(body.thinking, body.output_config?.effort) : undefined;
  if (reasoning) out.reasoning_effort = reasoning;
  const format = body.output_format ?? body.output_config?.format;
  if (format?.type === 'json_schema' && format.schema && typeof format.schema === 'object') {
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema } };
  }
  return out;
}
