// Where Gemini calls go. Google AI Studio: {base}/v1beta/models/{model}:{method}. Vertex AI:
// {base}/v1/projects/{project}/locations/{location}/publishers/{google|anthropic}/models/{model}:{method},
// its base https://{location}-aiplatform.googleapis.com (https://aiplatform.googleapis.com for global).
// An api_base that already ends in /models/{name} is taken as LiteLLM takes it: the model's address,
// to which only `:{method}` is added (Cloudflare's AI gateway and other proxies are set up so).
import type { Deployment } from '../../config/load.ts';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'countTokens' | 'batchEmbedContents' | 'predict' | 'rawPredict' | 'streamRawPredict';

const MODEL_ADDRESS = /\/models\/[^/]+$/;
const VERSIONED = /\/v1(?:beta\d*|alpha)?$/;

/** Vertex AI's regional endpoint for a location. */
export function vertexBase(location: string): string {
  return location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`;
}

/** The model's address, without the method. */
function modelAddress(d: Deployment, model: string): string {
  if (MODEL_ADDRESS.test(d.apiBase)) return d.apiBase;
  // (Vertex's versioned names keep their @: claude-sonnet-4-5@20250929)
  const name = encodeURIComponent(model).replace(/%40/g, '@');
  if (d.google) {
    const publisher = d.wire === 'anthropic' ? 'anthropic' : 'google';
    const { project, location } = d.google;
    return `${d.apiBase}/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/${publisher}/models/${name}`;
  }
  return VERSIONED.test(d.apiBase) ? `${d.apiBase}/models/${name}` : `${d.apiBase}/v1beta/models/${name}`;
}

/** The URL of one method of a Gemini (or Vertex-hosted Claude) model; streams ask for SSE. */
export function geminiUrl(d: Deployment, method: GeminiMethod, model: string): string {
  const url = `${modelAddress(d, model)}:${method}`;
  return method === 'streamGenerateContent' ? `${url}?alt=sse` : url;
}

/** AI Studio's model list (or the model, when api_base is its address): what /health asks for with the key. */
export function geminiModelsUrl(d: Deployment): string {
  if (MODEL_ADDRESS.test(d.apiBase)) return d.apiBase;
  return VERSIONED.test(d.apiBase) ? `${d.apiBase}/models` : `${d.apiBase}/v1beta/models`;
}
