// OpenAI chat requests as Gemini generateContent requests (AI Studio and Vertex AI take the same body):
// system and developer messages to systemInstruction, turns to `contents` with Gemini's roles (user,
// model), content parts to text / inlineData / fileData parts, tool calls and results to functionCall /
// functionResponse parts (answered by name: Gemini's calls carry no ids), tools to functionDeclarations,
// sampling and output settings to generationConfig, reasoning to thinkingConfig.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import type { CallPlan, UpstreamRequest } from '../adapter.ts';
import { geminiUrl } from './target.ts';
import { splitSignature } from './tool-ids.ts';
import { responseSchema, toolSchema } from './schema.ts';

type Part = Record<string, unknown>;
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** MIME types by file extension, for media given by URL (Gemini wants the type with the address). */
const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', heic: 'image/heic', heif: 'image/heif',
  pdf: 'application/pdf', txt: 'text/plain', mp3: 'audio/mp3', wav: 'audio/wav', flac: 'audio/flac', ogg: 'audio/ogg',
  mp4: 'video/mp4', mov: 'video/mov', webm: 'video/webm',
};

function mimeOfUrl(url: string, given: unknown, path: string): string {
  if (typeof given === 'string' && given.includes('/')) return given;
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const mime = ext ? MIME_BY_EXTENSION[ext] : undefined;
  if (!mime) throw bad(path, `${path}: the media type of "${url.slice(0, 100)}" is not known from its name: send a base64 data URL, or give "format" (for example image/png).`);
  return mime;
}

/**
 * Media by URL: a data URL goes inline; any other address goes to Gemini as a file reference for
 * Google to fetch (Gemini's file API, public https). The gateway never fetches a client's URL. A gs://
 * object is read with the deployment's own rights, so only buckets the operator listed are accepted.
 */
function mediaPart(url: string, format: unknown, path: string, buckets: readonly string[]): Part {
  const m = DATA_URL.exec(url);
  if (m) return { inlineData: { mimeType: m[1], data: m[2] } };
  const bucket = /^gs:\/\/([^/]+)\//.exec(url)?.[1];
  if (url.startsWith('gs://') && !(bucket && (buckets.includes(bucket) || buckets.includes('*')))) {
    throw bad(path, `${path}: gs:// files are accepted only from the buckets this deployment lists in allowed_gcs_buckets.`);
  }
  if (!/^(?:https?|gs):\/\//.test(url)) throw bad(path, `${path} must be a data URL, or an http(s) or gs:// address.`);
  return { fileData: { mimeType: mimeOfUrl(url, format, path), fileUri: url } };
}

function userParts(content: unknown, path: string, buckets: readonly string[]): Part[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw bad(path, `${path} must be a string or an array of content parts.`);
  const parts: Part[] = [];
  content.forEach((part: Record<string, any>, i) => {
    const at = `${path}[${i}]`;
    if (!part || typeof part !== 'object') throw bad(at, `${at} must be an object.`);
    switch (part.type) {
      case 'text':
      case 'input_text':
        if (typeof part.text !== 'string') throw bad(`${at}.text`, `${at}.text must be a string.`);
        if (part.text !== '') parts.push({ text: part.text });
        break;
      case 'image_url': {
        const ref = part.image_url;
        const url = typeof ref === 'string' ? ref : ref?.url;
        if (typeof url !== 'string') throw bad(`${at}.image_url.url`, `${at}.image_url.url must be a string.`);
        parts.push(mediaPart(url, ref?.format, `${at}.image_url.url`, buckets));
        break;
      }
      case 'file': {
        const f = part.file ?? {};
        const ref = typeof f.file_data === 'string' ? f.file_data : f.file_id;
        if (typeof ref !== 'string') throw bad(`${at}.file`, `${at}.file needs file_data (a base64 data URL) or file_id (a gs:// or Gemini file address).`);
        parts.push(mediaPart(ref, f.format, `${at}.file`, buckets));
        break;
      }
      case 'input_audio': {
        const a = part.input_audio ?? {};
        if (typeof a.data !== 'string') throw bad(`${at}.input_audio.data`, `${at}.input_audio.data must be base64 audio.`);
        parts.push({ inlineData: { mimeType: `audio/${typeof a.format === 'string' ? a.format : 'wav'}`, data: a.data } });
        break;
      }
      default:
        throw bad(`${at}.type`, `${at}.type "${String(part.type)}" cannot be sent to Gemini models.`);
    }
  });
  return parts;
}

/** Text of system, assistant and tool content (strings, or text parts). */
function textOf(content: unknown, path: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(path, `${path} must be a string or an array of text parts.`);
  return content
    .map((p: Record<string, unknown>, i) => {
      if (p?.type === 'text' || p?.type === 'input_text' || p?.type === 'output_text') return typeof p.text === 'string' ? p.text : '';
      if (p?.type === 'refusal') return typeof p.refusal === 'string' ? p.refusal : '';
      throw bad(`${path}[${i}].type`, `${path}[${i}].type "${String(p?.type)}" is only accepted in user messages.`);
    })
    .join('');
}

function parseArgs(args: unknown, path: string): Record<string, unknown> {
  if (args && typeof args === 'object' && !Array.isArray(args)) return args as Record<string, unknown>;
  if (typeof args !== 'string' || args.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw bad(path, `${path} is not valid JSON.`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(path, `${path} must be a JSON object.`);
  return v as Record<string, unknown>;
}

/**
 * Gemini 3 refuses a turn's function calls without the thought signature it gave them; calls it did not
 * make (another model's, before a fallback or a model switch) carry none, and get the value Google
 * documents for that case on the turn's first call.
 */
const NO_SIGNATURE = 'skip_thought_signature_validator';

function toContents(messages: Record<string, any>[], signed: boolean, buckets: readonly string[]): { system: Part[]; contents: Content[] } {
  const system: Part[] = [];
  const contents: Content[] = [];
  /** Function names by call id: a tool result is answered to Gemini by the name of its call. */
  const names = new Map<string, string>();
  const push = (role: Content['role'], parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    // One turn per role: the results of parallel calls must come back together, in one turn.
    if (last && last.role === role) for (const p of parts) last.parts.push(p);
    else contents.push({ role, parts });
  };
  messages.forEach((m, i) => {
    const path = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, `${path}.content`);
        if (text !== '') system.push({ text });
        break;
      }
      case 'user':
        push('user', userParts(m.content, `${path}.content`, buckets));
        break;
      case 'assistant': {
        const parts: Part[] = [];
        const text = textOf(m.content, `${path}.content`);
        if (text !== '') parts.push({ text });
        if (Array.isArray(m.tool_calls)) {
          m.tool_calls.forEach((c: Record<string, any>, j: number) => {
            const at = `${path}.tool_calls[${j}]`;
            const name = c?.function?.name;
            if (typeof name !== 'string' || name === '') throw bad(`${at}.function.name`, `${at}.function.name must be a string.`);
            const { signature } = splitSignature(String(c.id ?? ''));
            if (typeof c.id === 'string') names.set(c.id, name);
            const part: Part = { functionCall: { name, args: parseArgs(c.function.arguments, `${at}.function.arguments`) } };
            // Gemini's thought signature travels in the call id: back byte for byte, as Gemini 3 requires.
            if (signature) part.thoughtSignature = signature;
            parts.push(part);
          });
          const first = parts.find((p) => p.functionCall);
          if (signed && first && !parts.some((p) => p.thoughtSignature)) first.thoughtSignature = NO_SIGNATURE;
        }
        push('model', parts);
        break;
      }
      case 'tool': {
        if (typeof m.tool_call_id !== 'string') throw bad(`${path}.tool_call_id`, `${path}.tool_call_id must be a string.`);
        const name = names.get(m.tool_call_id) ?? (typeof m.name === 'string' ? m.name : undefined);
        if (!name) throw bad(`${path}.tool_call_id`, `${path}.tool_call_id "${m.tool_call_id}" matches no tool call of an earlier assistant message.`);
        push('user', [{ functionResponse: { name, response: { content: textOf(m.content, `${path}.content`) } } }]);
        break;
      }
      case 'function':
        if (typeof m.name !== 'string') throw bad(`${path}.name`, `${path}.name must be a string.`);
        push('user', [{ functionResponse: { name: m.name, response: { content: textOf(m.content, `${path}.content`) } } }]);
        break;
      default:
        throw bad(`${path}.role`, `${path}.role "${String(m.role)}" cannot be sent to Gemini models.`);
    }
  });
  return { system, contents };
}

function tools(list: unknown): Part[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw bad('tools', 'tools must be an array.');
  const declarations: Part[] = [];
  const native: Part[] = [];
  list.forEach((t: Record<string, any>, i) => {
    if (t?.type === 'function' && typeof t.function?.name === 'string') {
      const fn = t.function;
      const d: Part = { name: fn.name };
      if (typeof fn.description === 'string') d.description = fn.description;
      if (fn.parameters && typeof fn.parameters === 'object' && Object.keys(fn.parameters.properties ?? {}).length > 0) {
        d.parametersJsonSchema = toolSchema(fn.parameters);
      }
      declarations.push(d);
    } else if (t && typeof t === 'object' && ('googleSearch' in t || 'google_search' in t || 'codeExecution' in t || 'code_execution' in t || 'urlContext' in t || 'url_context' in t)) {
      // Gemini's own tools, given in Gemini's form (as LiteLLM lets them through).
      native.push(t);
    } else throw bad(`tools[${i}]`, `tools[${i}] must be a function tool with a name.`);
  });
  const out: Part[] = [...native];
  if (declarations.length > 0) out.unshift({ functionDeclarations: declarations });
  return out;
}

function toolConfig(choice: unknown): Part | undefined {
  if (choice === undefined || choice === null) return undefined;
  const mode = (m: string, names?: string[]) => ({ functionCallingConfig: names ? { mode: m, allowedFunctionNames: names } : { mode: m } });
  if (choice === 'auto') return mode('AUTO');
  if (choice === 'required') return mode('ANY');
  if (choice === 'none') return mode('NONE');
  const name = (choice as { function?: { name?: unknown } })?.function?.name;
  if (typeof name === 'string') return mode('ANY', [name]);
  throw bad('tool_choice', 'tool_choice must be "auto", "required", "none" or a function.');
}

/** Thinking budgets for `reasoning_effort` on Gemini 2.5 models, as LiteLLM maps them. */
const EFFORT_BUDGETS: Record<string, number> = { minimal: 128, low: 1024, medium: 2048, high: 4096, xhigh: 8192, max: 24576 };

/** Gemini 3 and later take a thinking level instead of a budget. */
const takesLevel = (model: string) => /gemini-(?:[3-9]|\d{2,})/.test(model);

function thinkingConfig(body: Record<string, any>, model: string): Part | undefined {
  const thinking = body.thinking as Record<string, unknown> | undefined;
  if (thinking && typeof thinking === 'object') {
    // Anthropic's form, from Anthropic clients (or OpenAI clients that send it, as LiteLLM allows).
    if (thinking.type === 'disabled') return { thinkingBudget: 0 };
    if (thinking.type === 'enabled' && typeof thinking.budget_tokens === 'number') return { thinkingBudget: thinking.budget_tokens, includeThoughts: true };
    if (thinking.type === 'adaptive' || thinking.type === 'enabled') return { thinkingBudget: -1, includeThoughts: true };
  }
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null) return undefined;
  if (effort === 'none' || effort === 'disable') return takesLevel(model) ? { thinkingLevel: 'low' } : { thinkingBudget: 0 };
  if (typeof effort !== 'string' || EFFORT_BUDGETS[effort] === undefined) {
    throw bad('reasoning_effort', 'reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max.');
  }
  if (takesLevel(model)) {
    // Gemini 3 Pro knows low and high; Flash also minimal and medium.
    const pro = /pro/.test(model);
    const level = effort === 'xhigh' || effort === 'max' ? 'high' : pro ? (effort === 'minimal' || effort === 'low' ? 'low' : 'high') : effort;
    return { thinkingLevel: level, includeThoughts: true };
  }
  return { thinkingBudget: EFFORT_BUDGETS[effort], includeThoughts: true };
}

/** OpenAI parameters Gemini has no counterpart for (or whose answer is not translated back): refused unless drop_params. */
const UNSUPPORTED = ['logprobs', 'top_logprobs', 'logit_bias', 'audio', 'prediction', 'web_search_options'];

export function chatRequestToGemini(body: Record<string, any>, upstreamModel: string, dropParams: boolean, buckets: readonly string[] = []): Record<string, unknown> {
  const drop = dropParams || body.drop_params === true;
  const refuse = (param: string, why: string) => {
    if (!drop) throw bad(param, `${param} ${why} (set drop_params to leave it out).`);
  };
  for (const p of UNSUPPORTED) if (body[p] !== undefined && body[p] !== null && body[p] !== false) refuse(p, 'is not supported by Gemini models through this gateway');
  if (Array.isArray(body.modalities) && body.modalities.some((m: unknown) => m !== 'text')) refuse('modalities', 'other than text is not supported by Gemini models through this gateway');

  const { system, contents } = toContents(body.messages, takesLevel(upstreamModel), buckets);
  if (contents.length === 0) throw bad('messages', 'messages must hold at least one user or assistant message with content for Gemini models.');
  const out: Record<string, unknown> = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system };
  const t = tools(body.tools);
  if (t && t.length > 0) out.tools = t;
  const tc = toolConfig(body.tool_choice);
  if (tc && t && t.length > 0) out.toolConfig = tc;

  const gc: Record<string, unknown> = {};
  const given = body.max_completion_tokens ?? body.max_tokens;
  if (typeof given === 'number') gc.maxOutputTokens = given;
  if (typeof body.temperature === 'number') gc.temperature = body.temperature;
  if (typeof body.top_p === 'number') gc.topP = body.top_p;
  if (typeof body.top_k === 'number') gc.topK = body.top_k;
  if (typeof body.n === 'number' && body.n > 1) gc.candidateCount = body.n;
  if (typeof body.seed === 'number') gc.seed = body.seed;
  if (typeof body.presence_penalty === 'number') gc.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number') gc.frequencyPenalty = body.frequency_penalty;
  if (body.stop !== undefined && body.stop !== null) {
    const stops = Array.isArray(body.stop) ? body.stop : [body.stop];
    if (!stops.every((s: unknown) => typeof s === 'string' && s !== '')) throw bad('stop', 'stop must be a non-empty string or an array of them.');
    if (stops.length > 5) throw bad('stop', 'stop takes at most 5 sequences for Gemini models.');
    if (stops.length > 0) gc.stopSequences = stops;
  }
  const rf = body.response_format;
  if (rf && typeof rf === 'object' && rf.type !== 'text') {
    if (rf.type === 'json_object') gc.responseMimeType = 'application/json';
    else if (rf.type === 'json_schema') {
      const schema = rf.json_schema?.schema;
      if (!schema || typeof schema !== 'object') throw bad('response_format.json_schema.schema', 'response_format.json_schema.schema must be a JSON schema object.');
      gc.responseMimeType = 'application/json';
      gc.responseJsonSchema = responseSchema(schema, 'response_format.json_schema.schema');
    } else throw bad('response_format.type', 'response_format.type must be text, json_object or json_schema.');
  }
  const thinking = thinkingConfig(body, upstreamModel);
  if (thinking) gc.thinkingConfig = thinking;
  if (Object.keys(gc).length > 0) out.generationConfig = gc;
  // Gemini's own settings, in LiteLLM's names.
  if (Array.isArray(body.safety_settings)) out.safetySettings = body.safety_settings;
  if (typeof body.cached_content === 'string') out.cachedContent = body.cached_content;
  if (body.labels && typeof body.labels === 'object') out.labels = body.labels;
  return out;
}

/** The headers of a Gemini call: the AI Studio key, or the Vertex AI access token. */
export function geminiHeaders(d: Deployment, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    // Identity so that usage can be read from the answer as it passes.
    'accept-encoding': 'identity',
  };
  const token = d.tokens?.latest();
  if (token) headers.authorization = `Bearer ${token}`;
  else if (d.apiKey) headers['x-goog-api-key'] = d.apiKey;
  for (const [k, v] of Object.entries(d.extraHeaders)) headers[k.toLowerCase()] = v;
  return headers;
}

export function geminiRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const stream = plan.body.stream === true;
  return {
    url: geminiUrl(d, stream ? 'streamGenerateContent' : 'generateContent', upstreamModel),
    model: upstreamModel,
    headers: geminiHeaders(d, stream),
    body: JSON.stringify(chatRequestToGemini(plan.body, upstreamModel, plan.dropParams, d.google?.gcsBuckets)),
    clientWantsUsage: (plan.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
  };
}
