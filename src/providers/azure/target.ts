// Azure OpenAI speaks OpenAI's wire format, at its own addresses and with its own key header: a
// deployment's calls go to /openai/deployments/{deployment}/... with a dated api-version, or, with
// api_version v1 (or latest, preview), to the v1 API at /openai/v1/..., where the body's model names
// the deployment. Azure AI Foundry's models (azure_ai/) speak it too, at {api_base}/models/... on a
// Foundry resource (*.services.ai.azure.com) or {api_base}/... on a serverless endpoint, as LiteLLM
// addresses them.
import type { Deployment } from '../../config/load.ts';

/** The API version when neither api_version nor AZURE_API_VERSION gives one: the newest dated GA version. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

const V1_VERSIONS = new Set(['v1', 'latest', 'preview']);

/**
 * The resource (api_base is its endpoint, https://NAME.openai.azure.com; one given with /openai or
 * /openai/v1 is taken as meaning the same resource), its API version, and whether that is the v1 API.
 */
function resourceOf(d: Deployment): { resource: string; version: string; v1: boolean } {
  const version = d.apiVersion ?? AZURE_DEFAULT_API_VERSION;
  return { resource: d.apiBase.replace(/\/openai(\/v1)?$/, ''), version, v1: /\/openai\/v1$/.test(d.apiBase) || V1_VERSIONS.has(version) };
}

const v1Query = (version: string) => (version === 'preview' ? '?api-version=preview' : '');

/** Where a call to an Azure deployment goes; `deployment` is the model after `azure/`. */
export function azureUrl(d: Deployment, endpoint: string, deployment: string): string {
  const { resource, version, v1 } = resourceOf(d);
  if (v1) return `${resource}/openai/v1/${endpoint}${v1Query(version)}`;
  return `${resource}/openai/deployments/${encodeURIComponent(deployment)}/${endpoint}?api-version=${encodeURIComponent(version)}`;
}

/**
 * Azure's Responses API: the v1 API's /openai/v1/responses, or /openai/responses with a dated (preview)
 * api-version; the deployment is named by the body's model either way.
 */
export function azureResponsesUrl(d: Deployment): string {
  const { resource, version, v1 } = resourceOf(d);
  return v1 ? `${resource}/openai/v1/responses${v1Query(version)}` : `${resource}/openai/responses?api-version=${encodeURIComponent(version)}`;
}

/** The resource's model list, which /health asks for (a cheap call that checks the key). */
export function azureModelsUrl(d: Deployment): string {
  const { resource, version, v1 } = resourceOf(d);
  return v1 ? `${resource}/openai/v1/models${v1Query(version)}` : `${resource}/openai/models?api-version=${encodeURIComponent(version)}`;
}

/**
 * `path` added to `base`, but not twice: a base that already ends with the path's first segments
 * (https://x.services.ai.azure.com/models) gets only the rest.
 */
function addPath(base: string, path: string): string {
  const segments = path.split('/').filter(Boolean);
  const basePath = base.replace(/\/+$/, '');
  for (let n = segments.length; n > 0; n--) {
    if (basePath.endsWith(`/${segments.slice(0, n).join('/')}`)) return `${basePath}/${segments.slice(n).join('/')}`.replace(/\/$/, '');
  }
  return `${basePath}/${segments.join('/')}`;
}

/** An azure_ai/ deployment's addresses and key header, worked out once (URLs cost a parse each). */
const foundryTargets = new WeakMap<Deployment, { usesApiKey: boolean; urls: Map<string, string> }>();

function foundryTarget(d: Deployment): { usesApiKey: boolean; urls: Map<string, string> } {
  let t = foundryTargets.get(d);
  if (!t) {
    const host = new URL(d.apiBase).hostname;
    t = { usesApiKey: host.endsWith('.services.ai.azure.com') || host.endsWith('.openai.azure.com'), urls: new Map() };
    foundryTargets.set(d, t);
  }
  return t;
}

/** Foundry resources take `api-key`; serverless endpoints and others a bearer token (LiteLLM's rule). */
export function azureAiUsesApiKey(d: Deployment): boolean {
  return foundryTarget(d).usesApiKey;
}

/** Where an azure_ai/ call goes: the api_base's query (an api-version in it) kept, api_version added if it has none. */
export function azureAiUrl(d: Deployment, endpoint: string): string {
  const { urls } = foundryTarget(d);
  let made = urls.get(endpoint);
  if (made === undefined) {
    const url = new URL(d.apiBase);
    const foundry = url.hostname.endsWith('.services.ai.azure.com');
    const out = new URL(addPath(`${url.origin}${url.pathname}`, foundry ? `/models/${endpoint}` : `/${endpoint}`));
    out.search = url.search;
    if (d.apiVersion && !out.searchParams.has('api-version')) out.searchParams.set('api-version', d.apiVersion);
    made = out.toString();
    urls.set(endpoint, made);
  }
  return made;
}
