// OpenAI embeddings requests to Bedrock's embedding models, through InvokeModel with each family's body:
// Amazon Titan text embeddings (one text a request: inputText; v2 takes dimensions and normalize) and
// Cohere Embed (up to 96 texts: texts, input_type, truncate, embedding_types; v4 output_dimension).
// The answer goes back in OpenAI's list form; the tokens are Bedrock's count (Titan's
// inputTextTokenCount, else the x-amzn-bedrock-input-token-count header), else the gateway's estimate.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import { warmTokenizer } from '../../metering/estimate.ts';
import type { CallPlan, Translated, UpstreamRequest } from '../adapter.ts';
import { embeddingsList, textInputs, wantsBase64 } from '../embedding-vectors.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';
import { bedrockHeaders, bedrockUrl } from './target.ts';

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

/** Cohere's documented limit of texts a request. */
const COHERE_MAX_TEXTS = 96;

const asked = new WeakMap<UpstreamRequest, { inputs: string[]; base64: boolean }>();

export function bedrockEmbeddingsRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const b = plan.body as Record<string, any>;
  const model = d.aws?.model && !d.aws.model.includes('*') ? d.aws.model : upstreamModel;
  const list = textInputs(b.input, 'Bedrock embedding models');
  const base64 = wantsBase64(b.encoding_format);
  const drop = plan.dropParams || b.drop_params === true;
  const dims = typeof b.dimensions === 'number' ? b.dimensions : undefined;
  let body: Record<string, unknown>;
  if (/titan-embed-(?:text|g1-text)/.test(model)) {
    if (list.length > 1) throw bad('input', `input: ${model} embeds one text a request; send the texts one at a time (Cohere's embed models take ${COHERE_MAX_TEXTS}).`);
    body = { inputText: list[0] };
    if (/-v2/.test(model)) {
      if (dims !== undefined) body.dimensions = dims;
      if (typeof b.normalize === 'boolean') body.normalize = b.normalize;
    } else if (dims !== undefined && !drop) throw bad('dimensions', `dimensions is not taken by ${model} (Titan v2 takes 256, 512 or 1024; set drop_params to leave it out).`);
  } else if (/cohere\.embed/.test(model)) {
    if (list.length > COHERE_MAX_TEXTS) throw bad('input', `input: Cohere's embed models take at most ${COHERE_MAX_TEXTS} texts a request.`);
    body = { texts: list, input_type: typeof b.input_type === 'string' ? b.input_type : 'search_document', embedding_types: ['float'] };
    if (typeof b.truncate === 'string') body.truncate = b.truncate;
    if (dims !== undefined) {
      if (/embed-v4/.test(model)) body.output_dimension = dims;
      else if (!drop) throw bad('dimensions', `dimensions is not taken by ${model} (Cohere Embed v4 takes it; set drop_params to leave it out).`);
    }
  } else {
    throw bad('model', `${model} is not an embedding model this gateway can call on Bedrock (Amazon Titan text embeddings, Cohere Embed).`);
  }
  warmTokenizer();
  const up: UpstreamRequest = { url: bedrockUrl(d, 'invoke', upstreamModel), headers: bedrockHeaders(d, false), body: JSON.stringify(body), clientWantsUsage: false, model: upstreamModel, embeddings: true };
  asked.set(up, { inputs: list, base64 });
  return up;
}

export function bedrockEmbeddingsAnswer(body: Buffer, up: UpstreamRequest, headers: Record<string, string | string[] | undefined> = {}): Translated {
  const json = parseJsonAnswer(body);
  const call = asked.get(up);
  if (!json || !call) return { body, usage: null, upstreamId: null };
  let vectors: unknown[];
  const tokens = Number(json.inputTextTokenCount ?? headers['x-amzn-bedrock-input-token-count']);
  if (Array.isArray(json.embedding)) vectors = [json.embedding];
  else if (Array.isArray(json.embeddings)) vectors = json.embeddings;
  else if (Array.isArray(json.embeddings?.float)) vectors = json.embeddings.float;
  else vectors = [];
  if (vectors.length !== call.inputs.length || !vectors.every(Array.isArray)) return { body, usage: null, upstreamId: null };
  return { ...embeddingsList(vectors as number[][], call.base64, up.model, tokens, call.inputs), upstreamId: typeof json.id === 'string' ? json.id : null };
}
