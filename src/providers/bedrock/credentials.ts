// AWS credentials for Bedrock, found as LiteLLM finds them (its litellm_params names), and resolved by
// AWS's own credential providers (@aws-sdk/credential-providers), never by hand:
//   aws_web_identity_token + aws_role_name   STS AssumeRoleWithWebIdentity (the token, or the file it is in)
//   aws_role_name                            STS AssumeRole, from the keys given or the default chain
//   aws_profile_name                         a profile of ~/.aws/config and ~/.aws/credentials
//   aws_access_key_id + aws_secret_access_key (+ aws_session_token)   those keys
//   none of these                            AWS's default chain: AWS_ACCESS_KEY_ID..., AWS_PROFILE,
//                                            AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, ECS and EC2 roles
// Temporary credentials are refreshed in the background before they expire (TokenSource). Deployments
// with the same credentials share one source.
import { createHash } from 'node:crypto';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { TokenSource } from '../tokens.ts';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export interface AwsCredentialSettings {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  profile?: string;
  roleArn?: string;
  sessionName?: string;
  externalId?: string;
  webIdentityToken?: string;
  /** STS's address (aws_sts_endpoint): a private endpoint, or a test's STS. */
  stsEndpoint?: string;
  region: string;
}

/** Whether the deployment names AWS credentials itself (then a Bedrock API key in the environment is not used). */
export function namesCredentials(p: Record<string, unknown>): boolean {
  return ['aws_access_key_id', 'aws_secret_access_key', 'aws_profile_name', 'aws_role_name', 'aws_web_identity_token'].some((k) => str(p[k]) !== undefined);
}

/** Throws an Error whose message starts with the offending field's name. */
export function credentialSettings(p: Record<string, unknown>, region: string): AwsCredentialSettings {
  const s: AwsCredentialSettings = {
    accessKeyId: str(p.aws_access_key_id),
    secretAccessKey: str(p.aws_secret_access_key),
    sessionToken: str(p.aws_session_token),
    profile: str(p.aws_profile_name),
    roleArn: str(p.aws_role_name),
    sessionName: str(p.aws_session_name),
    externalId: str(p.aws_external_id),
    webIdentityToken: str(p.aws_web_identity_token),
    stsEndpoint: str(p.aws_sts_endpoint),
    region,
  };
  if ((s.accessKeyId === undefined) !== (s.secretAccessKey === undefined)) {
    throw new Error(`${s.accessKeyId ? 'aws_secret_access_key' : 'aws_access_key_id'}: is required with ${s.accessKeyId ? 'aws_access_key_id' : 'aws_secret_access_key'}`);
  }
  if (s.webIdentityToken && !s.roleArn) throw new Error('aws_role_name: is required with aws_web_identity_token (the role the token is exchanged for)');
  if (s.stsEndpoint) {
    try {
      new URL(s.stsEndpoint);
    } catch {
      throw new Error(`aws_sts_endpoint: "${s.stsEndpoint}" is not a URL`);
    }
  }
  return s;
}

/** A web identity token given as the path of its file (as EKS mounts it, rotating it), not inline. */
const isTokenFile = (given: string) => given.startsWith('/') || given.startsWith('./');

type Providers = typeof import('@aws-sdk/credential-providers');

/** The AWS provider for the settings; the library is loaded only when a Bedrock deployment first needs it. */
async function providerFor(s: AwsCredentialSettings): Promise<AwsCredentialIdentityProvider> {
  const aws: Providers = await import('@aws-sdk/credential-providers');
  const clientConfig = { region: s.region, ...(s.stsEndpoint ? { endpoint: s.stsEndpoint } : {}) };
  const sessionName = s.sessionName ?? `llm-proxy-${Date.now()}`;
  const keys: AwsCredentialIdentity | undefined =
    s.accessKeyId && s.secretAccessKey ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken } : undefined;
  if (s.webIdentityToken && s.roleArn) {
    // (a file is read again at each exchange: its token is rotated under it)
    return isTokenFile(s.webIdentityToken)
      ? aws.fromTokenFile({ webIdentityTokenFile: s.webIdentityToken, roleArn: s.roleArn, roleSessionName: sessionName, clientConfig })
      : aws.fromWebToken({ roleArn: s.roleArn, roleSessionName: sessionName, webIdentityToken: s.webIdentityToken, clientConfig });
  }
  if (s.roleArn) {
    const master = keys ?? (s.profile ? aws.fromIni({ profile: s.profile }) : aws.fromNodeProviderChain());
    return aws.fromTemporaryCredentials({
      masterCredentials: master,
      params: { RoleArn: s.roleArn, RoleSessionName: sessionName, ...(s.externalId ? { ExternalId: s.externalId } : {}) },
      clientConfig,
    });
  }
  if (s.profile) return aws.fromIni({ profile: s.profile, clientConfig });
  if (keys) return async () => keys;
  return aws.fromNodeProviderChain({ clientConfig });
}

const sources = new Map<string, TokenSource<AwsCredentialIdentity>>();

function labelOf(s: AwsCredentialSettings): string {
  if (s.webIdentityToken) return `web identity for role ${s.roleArn}`;
  if (s.roleArn) return `role ${s.roleArn}`;
  if (s.profile) return `profile ${s.profile}`;
  if (s.accessKeyId) return `access key ${s.accessKeyId.slice(0, 8)}…`;
  return "AWS's default credential chain";
}

/** The credential source of a deployment's settings (one per distinct settings). */
export function awsCredentials(s: AwsCredentialSettings): TokenSource<AwsCredentialIdentity> {
  // (keyed by a hash: secrets are not kept as map keys in the clear)
  const key = createHash('sha256').update(JSON.stringify(s)).digest('hex');
  let source = sources.get(key);
  if (source) return source;
  let provider: Promise<AwsCredentialIdentityProvider> | null = null;
  source = new TokenSource(labelOf(s), async () => {
    provider ??= providerFor(s);
    provider.catch(() => (provider = null));
    // (forceRefresh: the default chain keeps what it found until it expires; a refresh must get new ones)
    const c = await (await provider)({ forceRefresh: true });
    // Long-term keys do not expire; temporary ones say when (STS's, a role's).
    return { token: c, expiresAt: c.expiration ? c.expiration.getTime() : Infinity };
  });
  sources.set(key, source);
  return source;
}
