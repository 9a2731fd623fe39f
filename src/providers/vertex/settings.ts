// A vertex_ai/ deployment's settings, in LiteLLM's names: vertex_project (VERTEXAI_PROJECT, else the
// credentials' project), vertex_location (VERTEXAI_LOCATION, else us-central1), vertex_credentials
// (VERTEXAI_CREDENTIALS, else application default credentials), and this gateway's allowed_gcs_buckets
// (the only gs:// files a request may name). Claude models speak Anthropic's format
// there (rawPredict), Gemini models Gemini's; other partner models are not served yet.
import type { Wire } from '../registry.ts';
import type { TokenSource } from '../tokens.ts';
import { vertexBase } from '../gemini/target.ts';
import { adcFile, type CredentialJson, googleTokens, projectOf, readCredentials } from './credentials.ts';

export interface VertexSettings {
  project: string;
  location: string;
  /** Cloud Storage buckets a request may name as gs:// files (Vertex reads them with the project's rights). */
  gcsBuckets: string[];
  base: string;
  wire: Wire;
  tokens: TokenSource;
}

const PARTNERS = /^(?:meta\/|llama|mistral|codestral|jamba|ai21|deepseek|qwen|openai\/)/i;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Throws an Error whose message starts with the offending field's name. */
export function vertexSettings(p: Record<string, unknown>, model: string, env: NodeJS.ProcessEnv): VertexSettings {
  // The wire format (Gemini's or Claude's) follows from the model: a wildcard could be either.
  if (model.includes('*')) throw new Error(`model: "vertex_ai/${model}": name the model (Gemini or Claude models speak different formats on Vertex AI)`);
  if (PARTNERS.test(model)) throw new Error(`model: "vertex_ai/${model}": Vertex AI partner models other than Claude are not supported by this version`);
  const given = p.vertex_credentials ?? str(env.VERTEXAI_CREDENTIALS);
  let json: CredentialJson | null = null;
  if (given !== undefined && given !== null) {
    try {
      json = readCredentials(given);
    } catch (err) {
      throw new Error(`vertex_credentials: ${(err as Error).message}`);
    }
  }
  const project = str(p.vertex_project) ?? str(env.VERTEXAI_PROJECT) ?? str(env.VERTEX_PROJECT) ?? projectOf(json) ?? projectOf(json ? null : adcFile(env));
  if (!project) throw new Error('vertex_project: is required (or VERTEXAI_PROJECT, or credentials that name their project)');
  const location = str(p.vertex_location) ?? str(p.vertex_region) ?? str(env.VERTEXAI_LOCATION) ?? str(env.VERTEX_LOCATION) ?? 'us-central1';
  if (!/^[a-z0-9-]+$/.test(location)) throw new Error(`vertex_location: "${location}" is not a Google Cloud location`);
  const buckets = p.allowed_gcs_buckets ?? [];
  if (!Array.isArray(buckets) || !buckets.every((b) => typeof b === 'string' && b !== '')) throw new Error('allowed_gcs_buckets: must be a list of bucket names');
  return { project, location, gcsBuckets: buckets, base: vertexBase(location), wire: /^claude/i.test(model) ? 'anthropic' : 'gemini', tokens: googleTokens(json) };
}
