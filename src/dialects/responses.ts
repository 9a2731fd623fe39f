// OpenAI's Responses API as an inbound dialect (POST /v1/responses, /responses): the request checked as
// far as the gateway relies on it, and translated to the chat form for every upstream that does not speak
// the Responses API itself (all but OpenAI's and Azure's): instructions and developer messages to system
// messages, input items to messages (function calls and their outputs to tool calls and tool messages,
// custom tools to functions of one string), flat function tools to chat's, text.format to
// response_format, reasoning.effort to reasoning_effort, max_output_tokens to max_tokens. Reasoning
// items the gateway gave out carry their provider's signed thinking in encrypted_content (see
// chat-to-responses.ts), which goes back as thinking_blocks, so Claude keeps its reasoning across turns.
import { GatewayError } from '../http/errors.ts';
import { checkRetries, parseJsonObject, parseModel, type LlmRequest } from './openai-chat.ts';

type Obj = Record<string, any>;

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

/** The prefix of encrypted_content that holds thinking blocks the gateway made (not OpenAI's). */
export const THINKING_PREFIX = 'llmproxy-thinking:';

export function parseResponses(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  const model = parseModel(body);
  const input = body.input;
  if (input !== undefined && typeof input !== 'string' && !Array.isArray(input)) throw bad('input', 'input must be a string or an array of input items.');
  if (Array.isArray(input)) {
    input.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw bad(`input[${i}]`, `input[${i}] must be an object.`);
    });
  }
  if (body.instructions !== undefined && body.instructions !== null && typeof body.instructions !== 'string') throw bad('instructions', 'instructions must be a string.');
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw bad('stream', 'stream must be a boolean.');
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null && (!Number.isInteger(max) || (max as number) < 1)) throw bad('max_output_tokens', 'max_output_tokens must be a whole number, 1 or more.');
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) throw bad('tools', 'tools must be an array.');
  // A background response is answered "queued" and billed later, where the gateway cannot meter it.
  if (body.background === true) throw bad('background', 'background responses are not served by this gateway: their usage comes after the answer, where it cannot be metered or budgeted; stream the response instead.');
  checkRetries(body);
  return { body, model, stream: stream === true, maxTokensField: 'max_output_tokens' };
}

/** The tools of a request whose calls come back as custom tool calls (a string input, not JSON arguments). */
export function customToolNames(body: Obj): Set<string> {
  const names = new Set<string>();
  for (const t of Array.isArray(body.tools) ? body.tools : []) if (t?.type === 'custom' && typeof t.name === 'string') names.add(t.name);
  return names;
}

function contentParts(content: unknown, path: string, role: string): string | Obj[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(path, `${path} must be a string or an array of content parts.`);
  const parts: Obj[] = content.map((p: Obj, i) => {
    const at = `${path}[${i}]`;
    switch (p?.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        if (typeof p.text !== 'string') throw bad(`${at}.text`, `${at}.text must be a string.`);
        return { type: 'text', text: p.text };
      case 'refusal':
        return { type: 'text', text: String(p.refusal ?? '') };
      case 'input_image': {
        if (role !== 'user') throw bad(at, `${at}: images are only accepted in user messages.`);
        if (typeof p.image_url !== 'string') throw bad(`${at}.image_url`, `${at}: only images given by image_url (an https or data URL) can be sent to this model; file_id names a file stored at OpenAI.`);
        return { type: 'image_url', image_url: p.detail ? { url: p.image_url, detail: p.detail } : { url: p.image_url } };
      }
      case 'input_file': {
        if (role !== 'user') throw bad(at, `${at}: files are only accepted in user messages.`);
        if (typeof p.file_data !== 'string') throw bad(`${at}.file_data`, `${at}: only files given inline (file_data) can be sent to this model.`);
        const data = p.file_data.startsWith('data:') ? p.file_data : `data:application/pdf;base64,${p.file_data}`;
        return { type: 'file', file: { file_data: data, ...(typeof p.filename === 'string' ? { filename: p.filename } : {}) } };
      }
      default:
        throw bad(`${at}.type`, `${at}.type "${String(p?.type)}" cannot be sent to this model.`);
    }
  });
  return parts.every((p) => p.type === 'text') ? parts.map((p) => p.text).join('') : parts;
}

/** Output of a function call: text (chat's tool messages hold text). */
function outputText(output: unknown, path: string): string {
  if (typeof output === 'string') return output;
  if (output === null || output === undefined) return '';
  if (!Array.isArray(output)) return JSON.stringify(output ?? '');
  return output
    .map((p: Obj, i) => {
      if (p?.type === 'input_text' || p?.type === 'output_text') return String(p.text ?? '');
      throw bad(`${path}[${i}].type`, `${path}[${i}].type "${String(p?.type)}": only text outputs of a tool can be sent to this model.`);
    })
    .join('');
}

/** Thinking blocks the gateway put in a reasoning item's encrypted_content, if these are. */
function thinkingBlocksOf(item: Obj): Obj[] | null {
  const enc = item.encrypted_content;
  if (typeof enc !== 'string' || !enc.startsWith(THINKING_PREFIX)) return null;
  try {
    const blocks = JSON.parse(Buffer.from(enc.slice(THINKING_PREFIX.length), 'base64url').toString('utf8'));
    return Array.isArray(blocks) ? blocks : null;
  } catch {
    return null;
  }
}

function messages(body: Obj): Obj[] {
  const out: Obj[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') out.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') {
    out.push({ role: 'user', content: input });
    return out;
  }
  /** The assistant message the next calls and reasoning join (the last one, if nothing came after it). */
  const assistant = (): Obj => {
    const last = out[out.length - 1];
    if (last?.role === 'assistant') return last;
    const m: Obj = { role: 'assistant', content: null };
    out.push(m);
    return m;
  };
  (Array.isArray(input) ? input : []).forEach((item: Obj, i) => {
    const path = `input[${i}]`;
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = item.role === 'developer' ? 'system' : item.role;
        if (role !== 'user' && role !== 'assistant' && role !== 'system') throw bad(`${path}.role`, `${path}.role must be user, assistant, system or developer.`);
        const content = contentParts(item.content, `${path}.content`, role);
        if (role === 'assistant') {
          const m = assistant();
          // (text after calls of the same turn starts a new message)
          if (m.tool_calls) out.push({ role: 'assistant', content });
          else m.content = typeof m.content === 'string' && typeof content === 'string' ? m.content + content : content;
        } else out.push({ role, content });
        break;
      }
      case 'function_call':
      case 'custom_tool_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string') throw bad(path, `${path} needs call_id and name.`);
        const raw = item.arguments ?? '{}';
        const args = type === 'function_call' ? (typeof raw === 'string' ? raw : JSON.stringify(raw)) : JSON.stringify({ input: String(item.input ?? '') });
        const m = assistant();
        (m.tool_calls ??= []).push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: args } });
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output':
        if (typeof item.call_id !== 'string') throw bad(`${path}.call_id`, `${path}.call_id must be a string.`);
        out.push({ role: 'tool', tool_call_id: item.call_id, content: outputText(item.output, `${path}.output`) });
        break;
      case 'reasoning': {
        // Only the gateway's own (signed thinking of the model that wrote it) can be sent back.
        const blocks = thinkingBlocksOf(item);
        if (blocks) {
          const m = assistant();
          (m.thinking_blocks ??= []).push(...blocks);
        }
        break;
      }
      case 'item_reference':
        throw bad(`${path}`, `${path}: item_reference needs the items stored upstream; send the items themselves to this model.`);
      default:
        throw bad(`${path}.type`, `${path}.type "${String(type)}" cannot be sent to this model.`);
    }
  });
  return out;
}

/** OpenAI's tools that run inside OpenAI's service: only an OpenAI upstream can run them. */
const HOSTED = new Set(['web_search', 'web_search_preview', 'web_search_2025_08_26', 'file_search', 'code_interpreter', 'computer', 'computer_use_preview', 'image_generation', 'mcp', 'local_shell', 'shell', 'apply_patch', 'tool_search', 'namespace']);

function tools(list: unknown, drop: boolean): Obj[] {
  const out: Obj[] = [];
  (Array.isArray(list) ? list : []).forEach((t: Obj, i) => {
    if (t?.type === 'function') {
      if (typeof t.name !== 'string') throw bad(`tools[${i}].name`, `tools[${i}].name must be a string.`);
      const fn: Obj = { name: t.name, parameters: t.parameters ?? { type: 'object', properties: {} } };
      if (typeof t.description === 'string') fn.description = t.description;
      if (typeof t.strict === 'boolean') fn.strict = t.strict;
      out.push({ type: 'function', function: fn });
    } else if (t?.type === 'custom') {
      // A custom tool takes free text (optionally of a grammar): a function of one string here.
      if (typeof t.name !== 'string') throw bad(`tools[${i}].name`, `tools[${i}].name must be a string.`);
      const grammar = t.format?.type === 'grammar' ? ` The input follows this ${String(t.format.syntax)} grammar:\n${String(t.format.definition)}` : '';
      out.push({
        type: 'function',
        function: {
          name: t.name,
          description: `${typeof t.description === 'string' ? t.description : ''}${grammar}`.trim(),
          parameters: { type: 'object', properties: { input: { type: 'string', description: 'The tool input, as free text.' } }, required: ['input'] },
        },
      });
    } else if (HOSTED.has(t?.type)) {
      if (!drop) throw bad(`tools[${i}]`, `tools[${i}] is OpenAI's built-in tool "${String(t.type)}", which only OpenAI upstreams run (set drop_params to leave it out).`);
    } else throw bad(`tools[${i}].type`, `tools[${i}].type "${String(t?.type)}" is not a tool this gateway knows.`);
  });
  return out;
}

function toolChoice(choice: unknown, declared: Obj[]): { choice?: unknown; tools: Obj[] } {
  if (choice === undefined || choice === null) return { tools: declared };
  if (choice === 'auto' || choice === 'none' || choice === 'required') return { choice, tools: declared };
  const c = choice as Obj;
  if ((c.type === 'function' || c.type === 'custom') && typeof c.name === 'string') return { choice: { type: 'function', function: { name: c.name } }, tools: declared };
  if (c.type === 'allowed_tools' && Array.isArray(c.tools)) {
    const names = new Set(c.tools.map((t: Obj) => t?.name).filter((n: unknown) => typeof n === 'string'));
    return { choice: c.mode === 'required' ? 'required' : 'auto', tools: declared.filter((t) => names.has(t.function.name)) };
  }
  throw bad('tool_choice', 'tool_choice must be "auto", "none", "required", a function or allowed_tools for this model.');
}

/** A Responses request as a chat completions request. */
export function responsesToChat(body: Obj, dropParams: boolean): Obj {
  const drop = dropParams || body.drop_params === true;
  // (previous_response_id was resolved by the gateway, which keeps the conversation: pipeline/responses-state.ts)
  if (body.conversation !== undefined && body.conversation !== null) throw bad('conversation', "conversation is kept by OpenAI's own Responses API; for this model, use previous_response_id or send the items in input.");
  // (resolved before, by the gateway: one still here names state this upstream does not have)
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) throw bad('previous_response_id', 'previous_response_id names a response another deployment keeps; this model cannot continue it.');
  const out: Obj = { model: body.model, messages: messages(body) };
  const declared = tools(body.tools, drop);
  const { choice, tools: offered } = toolChoice(body.tool_choice, declared);
  if (offered.length > 0) {
    out.tools = offered;
    if (choice !== undefined) out.tool_choice = choice;
    if (typeof body.parallel_tool_calls === 'boolean') out.parallel_tool_calls = body.parallel_tool_calls;
  }
  if (typeof body.max_output_tokens === 'number') out.max_tokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  const user = body.safety_identifier ?? body.user;
  if (typeof user === 'string') out.user = user;
  const format = body.text?.format;
  if (format && typeof format === 'object' && format.type !== 'text') {
    if (format.type === 'json_object') out.response_format = { type: 'json_object' };
    else if (format.type === 'json_schema') {
      if (!format.schema || typeof format.schema !== 'object') throw bad('text.format.schema', 'text.format.schema must be a JSON schema object.');
      out.response_format = { type: 'json_schema', json_schema: { name: String(format.name ?? 'output'), schema: format.schema, ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}) } };
    } else throw bad('text.format.type', 'text.format.type must be text, json_object or json_schema.');
  }
  const effort = body.reasoning?.effort;
  if (typeof effort === 'string') out.reasoning_effort = effort;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  // The gateway's own fields (LiteLLM's), which the chat pipeline reads.
  for (const f of ['num_retries', 'fallbacks', 'disable_fallbacks', 'drop_params', 'additional_drop_params']) if (body[f] !== undefined) out[f] = body[f];
  return out;
}
