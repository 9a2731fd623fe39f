// Requests to Bedrock's Converse API. Converse is close to Anthropic's Messages API (content blocks,
// toolUse / toolResult, reasoning with signatures, cache points), so an Anthropic request is translated
// block for block, and an OpenAI chat request goes through the Anthropic form the gateway already makes
// for Claude (anthropic/request.ts). Every model family takes the same body; what only some take
// (thinking, top_k) goes in additionalModelRequestFields, as AWS documents it per family.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import type { CallPlan, UpstreamRequest } from '../adapter.ts';
import { chatRequestToAnthropic } from '../anthropic/request.ts';
import { isClaude } from './settings.ts';
import { bedrockHeaders, bedrockUrl } from './target.ts';

type Block = Record<string, any>;

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);
const DOCUMENT_FORMATS: Record<string, string> = {
  'application/pdf': 'pdf', 'text/csv': 'csv', 'application/msword': 'doc', 'text/html': 'html', 'text/plain': 'txt', 'text/markdown': 'md',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};

/** Anthropic's cache_control as a Converse cache point (placed after the block it ends). */
function cachePoint(cc: unknown): Block | null {
  if (!cc || typeof cc !== 'object') return null;
  const ttl = (cc as { ttl?: unknown }).ttl;
  return { cachePoint: ttl === '1h' || ttl === '5m' ? { type: 'default', ttl } : { type: 'default' } };
}

function imageBlock(b: Block, path: string): Block {
  const src = b.source ?? {};
  if (src.type !== 'base64') {
    // Bedrock does not fetch URLs, and the gateway never fetches a client's.
    throw bad(`${path}.source`, `${path}: Bedrock models take images inline only (base64, or a data URL), not by ${String(src.type)}.`);
  }
  const format = String(src.media_type ?? '').replace(/^image\//, '').replace('jpg', 'jpeg');
  if (!IMAGE_FORMATS.has(format)) throw bad(`${path}.source.media_type`, `${path}.source.media_type "${String(src.media_type)}" is not an image type Bedrock takes (png, jpeg, gif, webp).`);
  return { image: { format, source: { bytes: src.data } } };
}

/** Bedrock wants a name for each document: letters, digits, spaces (single), hyphens, parentheses, brackets. */
function documentName(title: unknown, n: number): string {
  const cleaned = typeof title === 'string' ? title.replace(/[^A-Za-z0-9\s\-()[\]]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200) : '';
  return cleaned || `document-${n}`;
}

function documentBlock(b: Block, path: string, n: number): Block {
  const src = b.source ?? {};
  const name = documentName(b.title, n);
  if (src.type === 'text') return { document: { format: 'txt', name, source: { text: String(src.data ?? '') } } };
  if (src.type !== 'base64') throw bad(`${path}.source`, `${path}: Bedrock models take documents inline only (base64 or text), not by ${String(src.type)}.`);
  const format = DOCUMENT_FORMATS[String(src.media_type)];
  if (!format) throw bad(`${path}.source.media_type`, `${path}.source.media_type "${String(src.media_type)}" is not a document type Bedrock takes (pdf, csv, doc, docx, xls, xlsx, html, txt, md).`);
  return { document: { format, name, source: { bytes: src.data } } };
}

function toolResultBlock(b: Block, path: string, docs: { n: number }): Block {
  const content: Block[] = [];
  if (typeof b.content === 'string') {
    if (b.content !== '') content.push({ text: b.content });
  } else if (Array.isArray(b.content)) {
    b.content.forEach((c: Block, i: number) => {
      const at = `${path}.content.${i}`;
      if (c?.type === 'text') {
        if (typeof c.text === 'string' && c.text !== '') content.push({ text: c.text });
      } else if (c?.type === 'image') content.push(imageBlock(c, at));
      else if (c?.type === 'document') content.push(documentBlock(c, at, ++docs.n));
      else throw bad(`${at}.type`, `${at}.type "${String(c?.type)}" cannot be sent to Bedrock models in a tool result.`);
    });
  }
  // (Bedrock refuses an empty result; the model is told there was nothing)
  if (content.length === 0) content.push({ text: '(no output)' });
  const out: Block = { toolUseId: String(b.tool_use_id ?? ''), content };
  if (b.is_error === true) out.status = 'error';
  return { toolResult: out };
}

/** A cache_control on a block inside a tool result: Converse marks it after the whole result. */
function nestedCacheControl(b: Block): unknown {
  return Array.isArray(b.content) ? b.content.findLast((c: Block) => c?.cache_control !== undefined)?.cache_control : undefined;
}

/** One Anthropic content block as Converse blocks (a cache point after it when it has cache_control). */
function converseBlocks(b: Block, path: string, docs: { n: number }): Block[] {
  let out: Block | null;
  switch (b?.type) {
    case 'text':
      if (typeof b.text !== 'string') throw bad(`${path}.text`, `${path}.text must be a string.`);
      // (Bedrock refuses empty text blocks)
      out = b.text === '' ? null : { text: b.text };
      break;
    case 'image':
      out = imageBlock(b, path);
      break;
    case 'document':
      out = documentBlock(b, path, ++docs.n);
      break;
    case 'tool_use':
      out = { toolUse: { toolUseId: String(b.id ?? ''), name: String(b.name ?? ''), input: b.input ?? {} } };
      break;
    case 'tool_result':
      out = toolResultBlock(b, path, docs);
      break;
    case 'thinking':
      // Sent back byte for byte: the signature is checked by the model.
      out = { reasoningContent: { reasoningText: b.signature ? { text: String(b.thinking ?? ''), signature: b.signature } : { text: String(b.thinking ?? '') } } };
      break;
    case 'redacted_thinking':
      out = { reasoningContent: { redactedContent: b.data } };
      break;
    default:
      throw bad(`${path}.type`, `${path}.type "${String(b?.type)}" cannot be sent to Bedrock models.`);
  }
  const cp = cachePoint(b?.cache_control ?? (b?.type === 'tool_result' ? nestedCacheControl(b) : undefined));
  return out === null ? (cp ? [cp] : []) : cp ? [out, cp] : [out];
}

function systemBlocks(system: unknown): Block[] {
  if (system === undefined || system === null) return [];
  if (typeof system === 'string') return system === '' ? [] : [{ text: system }];
  const out: Block[] = [];
  (system as Block[]).forEach((b, i) => {
    if (b?.type !== 'text' || typeof b.text !== 'string') throw bad(`system.${i}`, `system.${i} must be a text block.`);
    if (b.text !== '') out.push({ text: b.text });
    const cp = cachePoint(b.cache_control);
    if (cp) out.push(cp);
  });
  return out;
}

function messages(list: Block[], hasTools: { used: boolean }): { system: Block[]; messages: Block[] } {
  const system: Block[] = [];
  const out: Block[] = [];
  const docs = { n: 0 };
  list.forEach((m, i) => {
    const path = `messages.${i}`;
    // (a system message mid-conversation, Claude Code's, joins the system prompt)
    if (m.role === 'system') {
      for (const b of systemBlocks(m.content)) system.push(b);
      return;
    }
    const blocks: Block[] = [];
    if (typeof m.content === 'string') {
      if (m.content !== '') blocks.push({ text: m.content });
    } else (m.content as Block[]).forEach((b, j) => blocks.push(...converseBlocks(b, `${path}.content.${j}`, docs)));
    if (blocks.some((b) => b.toolUse || b.toolResult)) hasTools.used = true;
    // (a turn of cache points alone, after empty text, is refused by Bedrock: nothing to send)
    if (blocks.every((b) => b.cachePoint)) return;
    const last = out[out.length - 1];
    // Converse wants user and assistant turns to alternate: consecutive ones are merged.
    if (last && last.role === m.role) last.content.push(...blocks);
    else out.push({ role: m.role, content: blocks });
  });
  return { system, messages: out };
}

function toolConfig(body: Block, usedTools: boolean, drop: boolean): Block | undefined {
  const tools: Block[] = [];
  (Array.isArray(body.tools) ? body.tools : []).forEach((t: Block, i: number) => {
    if (t?.type !== undefined && t.type !== 'custom') {
      if (drop) return;
      throw bad(`tools.${i}`, `tools.${i} is Anthropic's server tool "${String(t.type)}", which Bedrock's Converse API does not run (set drop_params to leave it out).`);
    }
    if (typeof t?.name !== 'string') throw bad(`tools.${i}.name`, `tools.${i}.name must be a string.`);
    const spec: Block = { name: t.name, inputSchema: { json: t.input_schema ?? { type: 'object', properties: {} } } };
    if (typeof t.description === 'string' && t.description !== '') spec.description = t.description;
    tools.push({ toolSpec: spec });
    const cp = cachePoint(t.cache_control);
    if (cp) tools.push(cp);
  });
  const choice = body.tool_choice as Block | undefined;
  if (choice?.disable_parallel_tool_use === true && !drop) {
    throw bad('tool_choice.disable_parallel_tool_use', "tool_choice.disable_parallel_tool_use (parallel_tool_calls: false) has no counterpart in Bedrock's Converse API (set drop_params to leave it out).");
  }
  if (choice?.type === 'none') {
    // Converse has no "none": without tools the model cannot call one, but a conversation that already
    // holds tool calls must still declare them.
    if (!usedTools) return undefined;
    if (!drop) throw bad('tool_choice', 'tool_choice "none" has no counterpart in Bedrock\'s Converse API once the conversation holds tool calls (set drop_params to let the model choose).');
  }
  if (tools.length === 0) {
    if (!usedTools) return undefined;
    // Bedrock needs tools declared once the conversation holds tool calls (a summary of a past session
    // sends none): a placeholder says so, as LiteLLM sends one.
    return { tools: [{ toolSpec: { name: 'no_tools_available', description: 'No tools are available in this turn; do not call this.', inputSchema: { json: { type: 'object', properties: {} } } } }] };
  }
  const out: Block = { tools };
  if (choice?.type === 'auto') out.toolChoice = { auto: {} };
  else if (choice?.type === 'any') out.toolChoice = { any: {} };
  else if (choice?.type === 'tool') out.toolChoice = { tool: { name: String(choice.name ?? '') } };
  return out;
}

/** Converse fields a request may set (where the deployment sets none). */
const CLIENT_FIELDS = ['guardrailConfig', 'requestMetadata', 'additionalModelResponseFieldPaths', 'promptVariables'];
/** Converse fields that change the price (a latency-optimized or priority tier): the operator's only. */
const PRICED_FIELDS = ['performanceConfig', 'serviceTier'];

/** An Anthropic Messages body (from an Anthropic client, or made from an OpenAI one) as a Converse body. */
export function anthropicToConverse(body: Block, model: string, drop: boolean, fixed: Record<string, unknown>): Block {
  // What runs inside Anthropic's own service has no Converse counterpart.
  for (const f of ['mcp_servers', 'container']) {
    if (body[f] !== undefined && body[f] !== null && !drop) throw bad(f, `${f} runs inside Anthropic's API, which Bedrock's Converse API does not offer (set drop_params to leave it out).`);
  }
  const used = { used: false };
  const { system, messages: turns } = messages(body.messages ?? [], used);
  const out: Block = { messages: turns };
  const allSystem = [...systemBlocks(body.system), ...system];
  if (allSystem.length > 0) out.system = allSystem;
  const inference: Block = {};
  if (typeof body.max_tokens === 'number') inference.maxTokens = body.max_tokens;
  if (typeof body.temperature === 'number') inference.temperature = body.temperature;
  if (typeof body.top_p === 'number') inference.topP = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) inference.stopSequences = body.stop_sequences;
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  const tc = toolConfig(body, used.used, drop);
  if (tc) out.toolConfig = tc;
  // What Converse has no field for goes to the model itself, in its family's own names.
  const extra: Block = { ...(fixed.additionalModelRequestFields as Block | undefined), ...(body.additionalModelRequestFields as Block | undefined) };
  const claude = isClaude(model);
  if (typeof body.top_k === 'number') {
    if (/(?:^|\.)amazon\.nova/.test(model)) extra.inferenceConfig = { ...extra.inferenceConfig, topK: body.top_k };
    else extra.top_k = body.top_k;
  }
  if (body.thinking && typeof body.thinking === 'object' && body.thinking.type !== 'disabled') {
    if (claude) extra.thinking = body.thinking;
    else if (!drop) throw bad('thinking', `thinking is Anthropic's setting, which ${model} does not take (send reasoning_effort through the OpenAI API, or set drop_params).`);
  }
  const effort = body.output_config?.effort;
  if (claude && effort !== undefined) extra.output_config = { ...extra.output_config, effort };
  if (typeof body.reasoning_effort === 'string') extra.reasoning_effort = body.reasoning_effort;
  if (Object.keys(extra).length > 0) out.additionalModelRequestFields = extra;
  const format = body.output_config?.format ?? body.output_format;
  if (format?.type === 'json_schema' && format.schema && typeof format.schema === 'object') {
    out.outputConfig = { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(format.schema), name: 'output' } } } };
  }
  // Bedrock's own fields, in its names, as LiteLLM passes them from a request; the deployment's win (a
  // client cannot swap the operator's guardrail), and the ones that change the price are the operator's.
  for (const k of PRICED_FIELDS) {
    if (body[k] !== undefined && body[k] !== null && !drop) throw bad(k, `${k} changes what Bedrock charges, so it is set by the operator (litellm_params), not by a request (set drop_params to leave it out).`);
  }
  for (const k of CLIENT_FIELDS) if (body[k] !== undefined && body[k] !== null) out[k] = body[k];
  for (const [k, v] of Object.entries(fixed)) if (k !== 'additionalModelRequestFields') out[k] = v;
  return out;
}

/** OpenAI parameters Converse has no counterpart for: refused unless drop_params. */
const UNSUPPORTED = ['logprobs', 'top_logprobs', 'logit_bias', 'presence_penalty', 'frequency_penalty', 'seed', 'audio', 'modalities', 'prediction', 'web_search_options'];

/** An OpenAI chat body as an Anthropic one first (the gateway's Claude translation), then as Converse. */
export function chatToConverse(body: Block, model: string, drop: boolean, fixed: Record<string, unknown>): Block {
  const given = body.max_completion_tokens ?? body.max_tokens;
  const clean: Block = { ...body };
  for (const p of UNSUPPORTED) {
    if (clean[p] === undefined || clean[p] === null || clean[p] === false) continue;
    if (!drop) throw bad(p, `${p} is not supported by Bedrock's Converse API (set drop_params to leave it out).`);
    delete clean[p];
  }
  if (typeof clean.n === 'number' && clean.n > 1 && !drop) throw bad('n', "n above 1 is not supported by Bedrock's Converse API (set drop_params to leave it out).");
  const claude = isClaude(model);
  // Only Claude takes Anthropic's thinking; other families take the effort as it is (gpt-oss, ...).
  const effort = claude ? undefined : clean.reasoning_effort;
  if (!claude) delete clean.reasoning_effort;
  const anthropic: Block = chatRequestToAnthropic(clean, model, drop);
  // (Anthropic needs max_tokens; other families have their own limits, and their default is theirs)
  if (!claude && typeof given !== 'number') delete anthropic.max_tokens;
  if (typeof effort === 'string') anthropic.reasoning_effort = effort;
  for (const k of ['additionalModelRequestFields', ...CLIENT_FIELDS, ...PRICED_FIELDS]) if (body[k] !== undefined) anthropic[k] = body[k];
  return anthropicToConverse(anthropic, model, drop, fixed);
}

export function converseRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const stream = plan.body.stream === true;
  const model = d.aws?.model && !d.aws.model.includes('*') ? d.aws.model : upstreamModel;
  const fixed = d.aws?.converseFields ?? {};
  const drop = plan.dropParams || plan.body.drop_params === true;
  const body = plan.endpoint === 'messages' ? anthropicToConverse(plan.body, model, drop, fixed) : chatToConverse(plan.body, model, drop, fixed);
  return {
    url: bedrockUrl(d, stream ? 'converse-stream' : 'converse', upstreamModel),
    model: upstreamModel,
    headers: bedrockHeaders(d, stream),
    body: JSON.stringify(body),
    clientWantsUsage: (plan.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
  };
}
