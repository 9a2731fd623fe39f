// OpenAI embeddings requests to Gemini embedding models: AI Studio's batchEmbedContents (one request
// per input), Vertex AI's predict (one instance per input), and the answer back in OpenAI's list form,
// as floats or, when asked (the openai SDKs ask by default), base64 of little-endian float32.
// Vertex counts the tokens of each input; AI Studio may not, and then the count is the gateway's
// estimate, in the answer and in the ledger alike.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import { warmTokenizer } from '../../metering/estimate.ts';
import type { CallPlan, Translated, UpstreamRequest } from '../adapter.ts';
import { embeddingsList, textInputs, wantsBase64 } from '../embedding-vectors.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';
import { geminiHeaders } from './request.ts';
import { geminiUrl } from './target.ts';

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

/** Inputs per upstream request, remembered for the answer (its estimate, when Gemini counts none). */
const texts = new WeakMap<UpstreamRequest, { inputs: string[]; base64: boolean }>();

export function embeddingsRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const b = plan.body as Record<string, any>;
  const list = textInputs(b.input, 'Gemini embedding models');
  const base64 = wantsBase64(b.encoding_format);
  const dims = typeof b.dimensions === 'number' ? b.dimensions : undefined;
  const task = typeof b.task_type === 'string' ? b.task_type : undefined;
  let body: Record<string, unknown>;
  let url: string;
  if (d.google) {
    // Vertex AI's Gemini embedding models take one instance a request (the text-embedding ones up to 250).
    if (/gemini-embedding/.test(upstreamModel) && list.length > 1) {
      throw bad('input', `input: ${upstreamModel} on Vertex AI embeds one text a request; send the texts one at a time.`);
    }
    const parameters: Record<string, unknown> = {};
    if (dims !== undefined) parameters.outputDimensionality = dims;
    body = { instances: list.map((content) => (task ? { content, task_type: task } : { content })), parameters };
    url = geminiUrl(d, 'predict', upstreamModel);
  } else {
    const model = `models/${upstreamModel}`;
    body = {
      requests: list.map((text) => ({
        model,
        content: { parts: [{ text }] },
        ...(dims !== undefined ? { outputDimensionality: dims } : {}),
        ...(task ? { taskType: task } : {}),
      })),
    };
    url = geminiUrl(d, 'batchEmbedContents', upstreamModel);
    warmTokenizer();
  }
  const up: UpstreamRequest = { url, headers: geminiHeaders(d, false), body: JSON.stringify(body), clientWantsUsage: false, model: upstreamModel, embeddings: true };
  texts.set(up, { inputs: list, base64 });
  return up;
}

export function embeddingsAnswer(body: Buffer, up: UpstreamRequest): Translated {
  const json = parseJsonAnswer(body);
  const asked = texts.get(up);
  if (!json || !asked) return { body, usage: null, upstreamId: null };
  let vectors: unknown[];
  let tokens: number | null = null;
  if (Array.isArray(json.predictions)) {
    vectors = json.predictions.map((p: Record<string, any>) => p?.embeddings?.values);
    tokens = json.predictions.reduce((n: number, p: Record<string, any>) => n + (Number(p?.embeddings?.statistics?.token_count) || 0), 0);
  } else {
    vectors = Array.isArray(json.embeddings) ? json.embeddings.map((e: Record<string, any>) => e?.values) : [];
    const counted = json.usageMetadata?.promptTokenCount;
    if (typeof counted === 'number') tokens = counted;
  }
  if (vectors.length !== asked.inputs.length || !vectors.every(Array.isArray)) return { body, usage: null, upstreamId: null };
  return { ...embeddingsList(vectors as number[][], asked.base64, up.model, tokens ?? NaN, asked.inputs), upstreamId: null };
}
