// Microsoft Entra ID client credentials for Azure OpenAI (LiteLLM's tenant_id, client_id, client_secret,
// or AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET), exchanged for tokens through Microsoft's
// own identity library, which honours AZURE_AUTHORITY_HOST for sovereign clouds and Azure Stack.
// Deployments with the same credentials share one TokenSource.
import { createHash } from 'node:crypto';
import { TokenSource } from '../tokens.ts';

/** The scope of Azure OpenAI (Cognitive Services), LiteLLM's default for azure_scope. */
const AZURE_OPENAI_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** Microsoft's own login hosts, where the library may look the authority up; any other is taken as given. */
const MICROSOFT_LOGIN = /^https:\/\/login\.(?:microsoftonline\.(?:com|us|de)|chinacloudapi\.cn|partner\.microsoftonline\.cn)\/?$/;

interface ClientCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The Entra ID client credentials a deployment gives (litellm_params, else the AZURE_* variables), as a
 * token source; null when they are not all there.
 */
export function entraFromParams(p: Record<string, unknown>, env: NodeJS.ProcessEnv): TokenSource | null {
  const tenantId = str(p.tenant_id) ?? str(env.AZURE_TENANT_ID);
  const clientId = str(p.client_id) ?? str(env.AZURE_CLIENT_ID);
  const clientSecret = str(p.client_secret) ?? str(env.AZURE_CLIENT_SECRET);
  if (!tenantId || !clientId || !clientSecret) return null;
  return entraTokens({ tenantId, clientId, clientSecret, scope: str(p.azure_scope) ?? AZURE_OPENAI_SCOPE }, env);
}

const sources = new Map<string, TokenSource>();

function entraTokens(c: ClientCredentials, env: NodeJS.ProcessEnv): TokenSource {
  const authorityHost = env.AZURE_AUTHORITY_HOST || undefined;
  // (keyed by a hash: the secret is not kept as a map key in the clear)
  const key = createHash('sha256').update(JSON.stringify([c.tenantId, c.clientId, c.clientSecret, c.scope, authorityHost])).digest('hex');
  let source = sources.get(key);
  if (source) return source;
  let credential: Promise<{ getToken(scope: string): Promise<{ token: string; expiresOnTimestamp: number } | null> }> | null = null;
  source = new TokenSource(`Entra ID client ${c.clientId} of tenant ${c.tenantId}`, async () => {
    // The library is loaded when a deployment first needs a token (only those with client credentials do).
    credential ??= import('@azure/identity').then(
      ({ ClientSecretCredential }) =>
        new ClientSecretCredential(c.tenantId, c.clientId, c.clientSecret, {
          authorityHost,
          disableInstanceDiscovery: authorityHost !== undefined && !MICROSOFT_LOGIN.test(authorityHost),
        }),
    );
    const t = await (await credential).getToken(c.scope);
    if (!t) throw new Error('Microsoft Entra ID gave no token');
    return { token: t.token, expiresAt: t.expiresOnTimestamp };
  });
  sources.set(key, source);
  return source;
}
