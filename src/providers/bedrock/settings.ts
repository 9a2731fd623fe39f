// A bedrock/ deployment's settings, in LiteLLM's names. The model: bedrock/<model id> and
// bedrock/converse/<model id> call the Converse API (every model family, one format), bedrock/invoke/
// <Claude model id> calls InvokeModel with Anthropic's own body; bedrock/<region>/<model id> names the
// region. The id may be a cross-region inference profile (us., eu., apac., global., ...) or an ARN
// (an application inference profile, provisioned throughput); `model_id` gives the id to call while
// `model` names the model (for prices and the family). Region: aws_region_name, the ARN's, then
// AWS_REGION_NAME, AWS_REGION, AWS_DEFAULT_REGION, else us-west-2 (LiteLLM's default). Address:
// api_base, aws_bedrock_runtime_endpoint or AWS_BEDROCK_RUNTIME_ENDPOINT, else the region's.
// Credentials: a Bedrock API key (api_key, else AWS_BEARER_TOKEN_BEDROCK unless the deployment names
// AWS credentials) as a bearer token; otherwise AWS credentials (credentials.ts) and SigV4.
import type { Wire } from '../registry.ts';
import { awsCredentials, credentialSettings, namesCredentials } from './credentials.ts';
import type { AwsSigning } from './sign.ts';

export interface BedrockSettings {
  /** converse: the Converse API (wire 'bedrock'); invoke: InvokeModel with Anthropic's body (wire 'anthropic'). */
  wire: Wire;
  /** The model id as called (before encoding into the path); null: the request's (a wildcard deployment). */
  modelId: string | null;
  /** The model the id is of, without routing prefixes (prices, family). */
  model: string;
  region: string;
  base: string;
  /** SigV4 signing, or null when a Bedrock API key is sent instead. */
  signing: AwsSigning | null;
  bearer: string | null;
  /** Converse fields set on every call of the deployment (guardrailConfig, performanceConfig, ...). */
  converseFields: Record<string, unknown>;
}

const REGION = /^[a-z]{2}(?:-gov)?-[a-z]+-\d+$/;
const ARN_REGION = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):/;

/** Converse request fields a deployment may fix in litellm_params, as LiteLLM passes them on. */
const CONVERSE_FIELDS = ['guardrailConfig', 'performanceConfig', 'requestMetadata', 'additionalModelRequestFields', 'additionalModelResponseFieldPaths', 'serviceTier'];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Whether a Bedrock model id (or ARN, or name) is one of Anthropic's Claude models. */
export function isClaude(model: string): boolean {
  return /(?:^|[./])anthropic\.|claude/i.test(model);
}

/** Throws an Error whose message starts with the offending field's name. */
export function bedrockSettings(p: Record<string, unknown>, name: string, env: NodeJS.ProcessEnv): BedrockSettings {
  let rest = name;
  let route: 'converse' | 'invoke' = 'converse';
  let pathRegion: string | undefined;
  for (;;) {
    const slash = rest.indexOf('/');
    const head = slash > 0 ? rest.slice(0, slash) : '';
    if (head === 'converse' || head === 'invoke') route = head;
    else if (REGION.test(head)) pathRegion = head;
    else break;
    rest = rest.slice(slash + 1);
  }
  if (rest === '') throw new Error(`model: "bedrock/${name}" names no model`);
  const modelIdParam = str(p.model_id);
  const wildcard = rest.includes('*');
  if (route === 'invoke' && !isClaude(rest)) {
    throw new Error(`model: "bedrock/${name}": InvokeModel is supported for Anthropic's Claude models only by this version; call this model through the Converse API (bedrock/converse/${rest})`);
  }
  const arnRegion = ARN_REGION.exec(modelIdParam ?? rest)?.[1];
  const region = str(p.aws_region_name) ?? pathRegion ?? arnRegion ?? str(env.AWS_REGION_NAME) ?? str(env.AWS_REGION) ?? str(env.AWS_DEFAULT_REGION) ?? 'us-west-2';
  if (!/^[a-z0-9-]+$/.test(region)) throw new Error(`aws_region_name: "${region}" is not an AWS region`);
  const endpoint = str(p.aws_bedrock_runtime_endpoint) ?? str(env.AWS_BEDROCK_RUNTIME_ENDPOINT);
  const base = endpoint ?? `https://bedrock-runtime.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  const bearer = str(p.api_key) ?? (namesCredentials(p) ? undefined : str(env.AWS_BEARER_TOKEN_BEDROCK)) ?? null;
  // Each AWS setting falls back to its variable (AWS_ACCESS_KEY_ID, ...), as LiteLLM reads them.
  const withEnv: Record<string, unknown> = { ...p };
  for (const k of ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'aws_role_name', 'aws_session_name', 'aws_web_identity_token', 'aws_sts_endpoint', 'aws_external_id']) {
    withEnv[k] = str(p[k]) ?? (k === 'aws_access_key_id' || k === 'aws_secret_access_key' || k === 'aws_session_token' ? undefined : str(env[k.toUpperCase()]));
  }
  // (the keys of the environment are read by AWS's default chain itself, with AWS_PROFILE)
  const signing = bearer ? null : { region, credentials: awsCredentials(credentialSettings(withEnv, region)) };
  const converseFields: Record<string, unknown> = {};
  for (const f of CONVERSE_FIELDS) if (p[f] !== undefined && p[f] !== null) converseFields[f] = p[f];
  return {
    wire: route === 'invoke' ? 'anthropic' : 'bedrock',
    modelId: modelIdParam ?? (wildcard ? null : rest),
    model: rest,
    region,
    base,
    signing,
    bearer,
    converseFields,
  };
}
