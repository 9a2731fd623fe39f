// OpenAI chat completions and embeddings to an OpenAI-compatible upstream (Azure OpenAI included, at
// its own addresses): the same dialect on both sides, so the
// body is changed as little as possible (model rewritten, gateway-only fields removed, usage asked for).
import type { Deployment } from '../../config/load.ts';
import type { CallPlan, UpstreamRequest } from '../adapter.ts';
import { withMember, withModel } from '../raw-body.ts';
import { azureAiUrl, azureAiUsesApiKey, azureUrl } from '../azure/target.ts';
import { withMistralToolIds } from '../mistral/tool-ids.ts';
import { PROVIDERS } from '../registry.ts';

/** Fields LiteLLM clients send for the gateway itself; they never reach the provider. */
export const GATEWAY_FIELDS = [
  'metadata', 'litellm_metadata', 'tags', 'fallbacks', 'context_window_fallback_dict', 'num_retries', 'max_retries',
  'mock_response', 'mock_testing_fallbacks', 'mock_timeout', 'caching', 'cache', 'guardrails', 'api_key', 'api_base',
  'base_url', 'api_version', 'azure_ad_token', 'timeout', 'stream_timeout', 'request_timeout', 'extra_headers', 'drop_params',
  'custom_llm_provider', 'litellm_call_id', 'litellm_trace_id', 'user_api_key', 'input_cost_per_token',
  'output_cost_per_token', 'proxy_server_request', 'no-log', 'disable_fallbacks', 'additional_drop_params',
];

const INCLUDE_USAGE = { include_usage: true };

/** Client headers passed on to the provider; nothing else is, the client's credential least of all. */
const FORWARDED_HEADERS = ['openai-organization', 'openai-project', 'openai-beta'];

/**
 * The credential of an OpenAI-wire deployment: its key (in Azure's `api-key` header where Azure wants
 * it, else as a bearer token), or, without one, a token (Entra ID, static or from client credentials).
 */
export function setAuth(headers: Record<string, string>, d: Deployment): void {
  if (d.apiKey) {
    if (d.provider === 'azure' || (d.provider === 'azure_ai' && azureAiUsesApiKey(d))) headers['api-key'] = d.apiKey;
    else headers.authorization = `Bearer ${d.apiKey}`;
  } else {
    const token = d.tokens?.latest() ?? d.adToken;
    if (token) headers.authorization = `Bearer ${token}`;
  }
}

export function buildRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const { body, raw, headers: clientHeaders } = plan;
  const endpoint = plan.endpoint === 'embeddings' ? 'embeddings' : plan.endpoint === 'completions' ? 'completions' : 'chat/completions';
  let changed = false;
  let out = body;
  const copy = () => {
    if (!changed) {
      out = { ...body };
      changed = true;
    }
  };
  for (const f of GATEWAY_FIELDS) {
    if (f in body) {
      copy();
      delete out[f];
    }
  }
  // The client's bytes are sent when nothing but the model and the usage request has to change.
  let bytes = changed ? null : raw;
  if (body.model !== upstreamModel) {
    bytes = bytes && withModel(bytes, String(body.model), upstreamModel);
    copy();
    out.model = upstreamModel;
  }
  if (d.provider === 'mistral') {
    const messages = withMistralToolIds(body.messages);
    if (messages) {
      bytes = null;
      copy();
      out.messages = messages;
    }
    // Mistral refuses max_completion_tokens (OpenAI's newer name): it takes max_tokens.
    if (body.max_completion_tokens !== undefined) {
      bytes = null;
      copy();
      if (out.max_tokens === undefined) out.max_tokens = out.max_completion_tokens;
      delete out.max_completion_tokens;
    }
  }
  const streamOptions = body.stream_options as Record<string, unknown> | undefined;
  const clientWantsUsage = streamOptions?.include_usage === true;
  const acceptsStreamOptions = PROVIDERS[d.provider]?.streamUsage ?? true;
  if (streamOptions !== undefined && !acceptsStreamOptions) {
    // (a provider that refuses the field, Mistral, sends its usage unasked: the client still gets it)
    bytes = null;
    copy();
    delete out.stream_options;
  } else if (body.stream === true && !clientWantsUsage && acceptsStreamOptions) {
    // Most clients send no stream_options: the member is added to their bytes.
    bytes = bytes && streamOptions === undefined ? withMember(bytes, 'stream_options', INCLUDE_USAGE) : null;
    copy();
    out.stream_options = { ...streamOptions, ...INCLUDE_USAGE };
  }

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: body.stream === true ? 'text/event-stream' : 'application/json',
    // Identity so that usage can be read from the answer as it passes.
    'accept-encoding': 'identity',
  };
  const azure = d.provider === 'azure';
  const foundry = d.provider === 'azure_ai';
  setAuth(headers, d);
  if (d.organization) headers['openai-organization'] = d.organization;
  for (const h of FORWARDED_HEADERS) {
    const v = clientHeaders[h];
    if (typeof v === 'string' && !(h in headers)) headers[h] = v;
  }
  for (const [k, v] of Object.entries(d.extraHeaders)) headers[k.toLowerCase()] = v;
  return {
    url: azure ? azureUrl(d, endpoint, upstreamModel) : foundry ? azureAiUrl(d, endpoint) : `${d.apiBase}/${endpoint}`,
    headers,
    body: bytes ?? JSON.stringify(out),
    clientWantsUsage,
    contentBlocks: d.provider === 'mistral',
    ...(endpoint === 'completions' ? { completions: true } : {}),
  };
}
