// Google Cloud credentials for Vertex AI, through Google's own auth library: a service account key,
// an authorized user (gcloud's application-default login) or workload identity federation, given as
// `vertex_credentials` (a file path, the JSON itself, or an object in the YAML), else application
// default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's file, the metadata server). Each set of
// credentials gets one TokenSource, shared by the deployments that use it.
import { existsSync, readFileSync } from 'node:fs';
import { TokenSource } from '../tokens.ts';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Where Google's library sends token requests of service accounts and authorized users. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** When the library gives no expiry, Google's tokens last an hour: assume a little less. */
const DEFAULT_LIFETIME_MS = 55 * 60_000;

export type CredentialJson = Record<string, unknown>;

/**
 * `vertex_credentials` as LiteLLM takes it: a path to a JSON file, the JSON text, or an object.
 * Throws with a message saying which it was taken for (never the content: it holds a private key).
 */
export function readCredentials(value: unknown): CredentialJson {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as CredentialJson;
  if (typeof value !== 'string' || value.trim() === '') throw new Error('must be a file path, the JSON of a credentials file, or an object');
  const text = value.trim();
  let json: unknown;
  if (text.startsWith('{')) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('looks like JSON but does not parse');
    }
  } else {
    // A path is named in the error only when it looks like one: the value may be a mangled key file
    // (quotes kept by an env file), which must not reach a log.
    const named = text.length <= 256 && !/[{}\n]/.test(text) ? `file "${text}"` : 'the value (not JSON, not a file path)';
    if (!existsSync(text)) throw new Error(`${named} does not exist`);
    try {
      json = JSON.parse(readFileSync(text, 'utf8'));
    } catch {
      throw new Error(`${named} is not a JSON credentials file`);
    }
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('is not a JSON object');
  return json as CredentialJson;
}

/** The project a credentials file names (service accounts: project_id; gcloud's user login: quota_project_id). */
export function projectOf(json: CredentialJson | null): string | null {
  const p = json?.project_id ?? json?.quota_project_id;
  return typeof p === 'string' && p !== '' ? p : null;
}

/** Application default credentials' file, when GOOGLE_APPLICATION_CREDENTIALS names one (for its project). */
export function adcFile(env: NodeJS.ProcessEnv): CredentialJson | null {
  const path = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!path) return null;
  try {
    return readCredentials(path);
  } catch {
    return null;
  }
}

/** What is used of the library's clients (each kind of credentials has its own class). */
interface AuthClient {
  getAccessToken(): Promise<{ token?: string | null }>;
  credentials?: { expiry_date?: unknown };
}

const sources = new Map<string, TokenSource>();

/** The token source of a set of credentials (null: application default credentials). */
export function googleTokens(json: CredentialJson | null): TokenSource {
  const key = json ? JSON.stringify(json) : 'adc';
  let source = sources.get(key);
  if (source) return source;
  let client: Promise<AuthClient> | null = null;
  const label = json ? `${String(json.type ?? 'credentials')} ${String(json.client_email ?? json.client_id ?? json.audience ?? '')}`.trim() : 'application default credentials';
  const tokenUri = typeof json?.token_uri === 'string' && json.token_uri !== GOOGLE_TOKEN_URL ? json.token_uri : null;
  source = new TokenSource(label, async () => {
    // The library is loaded when a deployment first needs a token (only Vertex AI's do).
    client ??= import('google-auth-library').then(({ GoogleAuth }) => {
      const auth = new GoogleAuth(json ? { credentials: json as never, scopes: [SCOPE] } : { scopes: [SCOPE] });
      return auth.getClient().then((c) => {
        if (tokenUri) followTokenUri(c as never, tokenUri);
        return c as unknown as AuthClient;
      });
    });
    client.catch(() => (client = null));
    const c = await client;
    const { token } = await c.getAccessToken();
    if (!token) throw new Error(`Google gave no access token for ${label}`);
    const expiry = c.credentials?.expiry_date;
    return { token, expiresAt: typeof expiry === 'number' ? expiry : Date.now() + DEFAULT_LIFETIME_MS };
  });
  sources.set(key, source);
  return source;
}

/**
 * A credentials file's own `token_uri` (a private endpoint, or a test's token server): Google's library
 * posts service-account and user token requests to its fixed address, so those go to the file's instead.
 */
function followTokenUri(client: { transporter: { interceptors: { request: Set<unknown> } } }, tokenUri: string): void {
  client.transporter.interceptors.request.add({
    resolved: async (opts: { url: URL | string }) => {
      if (String(opts.url) === GOOGLE_TOKEN_URL) opts.url = new URL(tokenUri);
      return opts;
    },
  });
}

