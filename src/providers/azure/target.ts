// Azure OpenAI speaks OpenAI's wire format, at its own addresses and with its own key header: a
// deployment's calls go to /openai/deployments/{deployment}/... with a dated api-version, or, with
// api_version v1 (or latest, preview), to the v1 API at /openai/v1/..., where the body's model names
// the deployment.
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

/** The resource's model list, which /health asks for (a cheap call that checks the key). */
export function azureModelsUrl(d: Deployment): string {
  const { resource, version, v1 } = resourceOf(d);
  return v1 ? `${resource}/openai/v1/models${v1Query(version)}` : `${resource}/openai/models?api-version=${encodeURIComponent(version)}`;
}
