// OpenAI embeddings requests to Cohere's v2 embed (POST {base}/v2/embed): up to 96 texts, input_type
// (search_document unless the request names another, as LiteLLM defaults it), truncate, dimensions as
// output_dimension (embed v4); the float vectors back in OpenAI's list form, floats or base64, and
// the tokens Cohere bills (meta.billed_units.input_tokens), else the gateway's estimate.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import { warmTokenizer } from '../../metering/estimate.ts';
import type { CallPlan, Translated, UpstreamRequest } from '../adapter.ts';
import { embeddingsList, textInputs, wantsBase64 } from '../embedding-vectors.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';
import { cohereHeaders, cohereUrl } from './request.ts';

const MAX_TEXTS = 96;

const asked = new WeakMap<UpstreamRequest, { inputs: string[]; base64: boolean }>();

export function cohereEmbeddingsRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const b = plan.body as Record<string, any>;
  const texts = textInputs(b.input, 'Cohere embedding models');
  if (texts.length > MAX_TEXTS) throw new GatewayError('bad_request', `input: Cohere's embed models take at most ${MAX_TEXTS} texts a request.`, { param: 'input' });
  const base64 = wantsBase64(b.encoding_format);
  const body: Record<string, unknown> = { model: upstreamModel, texts, input_type: typeof b.input_type === 'string' ? b.input_type : 'search_document', embedding_types: ['float'] };
  if (typeof b.dimensions === 'number') body.output_dimension = b.dimensions;
  if (typeof b.truncate === 'string') body.truncate = b.truncate;
  warmTokenizer();
  const up: UpstreamRequest = { url: cohereUrl(d.apiBase, 'embed'), headers: cohereHeaders(d, false), body: JSON.stringify(body), clientWantsUsage: false, model: upstreamModel, embeddings: true };
  asked.set(up, { inputs: texts, base64 });
  return up;
}

export function cohereEmbeddingsAnswer(body: Buffer, up: UpstreamRequest): Translated {
  const json = parseJsonAnswer(body);
  const call = asked.get(up);
  if (!json || !call) return { body, usage: null, upstreamId: null };
  const vectors: unknown[] = Array.isArray(json.embeddings?.float) ? json.embeddings.float : Array.isArray(json.embeddings) ? json.embeddings : [];
  if (vectors.length !== call.inputs.length || !vectors.every(Array.isArray)) return { body, usage: null, upstreamId: null };
  const list = embeddingsList(vectors as number[][], call.base64, up.model, Number(json.meta?.billed_units?.input_tokens), call.inputs);
  return { ...list, upstreamId: typeof json.id === 'string' ? json.id : null };
}
