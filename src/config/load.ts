// Reads config.yaml (LiteLLM's format), substitutes `os.environ/NAME` references, validates it and
// returns a frozen GatewayConfig. A bad file throws ConfigError with one message naming the file,
// the path inside it and what is wrong; unknown keys are warnings.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigFile, PRICE_FIELDS, type ModelEntryShape } from './schema.ts';
import { ignoredWarning, settingAt } from './settings.ts';
import { usdToNanos } from '../metering/money.ts';
import type { CooldownSettings } from '../router/cooldowns.ts';
import type { FallbackSettings, PerClass } from '../router/failures.ts';
import { DEFAULT_CALL_TYPES, type CacheSettings } from '../cache/response-cache.ts';
import { Router, type RouterOptions } from '../router/router.ts';
import { PROVIDERS, splitProviderModel, type Wire } from '../providers/registry.ts';
import type { TokenSource } from '../providers/tokens.ts';
import { vertexSettings } from '../providers/vertex/settings.ts';
import { bedrockSettings, type BedrockSettings } from '../providers/bedrock/settings.ts';
import { entraFromParams } from '../providers/azure/entra.ts';

export class ConfigError extends Error {}

export interface Deployment {
  /** Stable id (model_info.id, else a hash of the entry), sent as x-litellm-model-id. */
  id: string;
  modelName: string;
  provider: string;
  /** The wire format the provider speaks. */
  wire: Wire;
  /** Model name sent upstream; may hold one `*` for wildcard entries. */
  upstreamModel: string;
  apiBase: string;
  /** api_base as x-litellm-model-api-base shows it: no credentials, no query (a key may sit in either). */
  publicApiBase: string;
  apiKey: string | null;
  /** Azure: a Microsoft Entra ID token (azure_ad_token or AZURE_AD_TOKEN), used when there is no key. */
  adToken: string | null;
  /** Bearer tokens from credentials (Vertex AI's Google Cloud credentials, Azure's Entra ID client credentials), refreshed in the background. */
  tokens: TokenSource | null;
  /** Vertex AI: the Google Cloud project and location the model is called in, and the buckets clients may name. */
  google: { project: string; location: string; gcsBuckets: readonly string[] } | null;
  /** Bedrock: the model id called, its region, how calls are authenticated (SigV4 or an API key), fixed Converse fields. */
  aws: Pick<BedrockSettings, 'modelId' | 'model' | 'region' | 'signing' | 'bearer' | 'converseFields'> | null;
  apiVersion: string | null;
  organization: string | null;
  timeoutMs: number;
  streamTimeoutMs: number;
  rpm: number | null;
  tpm: number | null;
  weight: number;
  /** litellm_params.cooldown_time: its own rest after failures (ms), else the router's. */
  cooldownMs: number | null;
  /** Whether `weight` was given (else a group shares by rpm, then tpm). */
  weightGiven: boolean;
  /** litellm_params.tags, for tag routing. */
  tags: string[];
  maxRetries: number | null;
  extraHeaders: Record<string, string>;
  /** litellm_params.drop_params: parameters the provider cannot take are left out instead of refused. */
  dropParams: boolean;
  /** litellm_params.additional_drop_params: top-level request fields never sent to this deployment. */
  additionalDropParams: readonly string[];
  /** Price overrides in USD per unit, from litellm_params then model_info. */
  prices: Partial<Record<(typeof PRICE_FIELDS)[number], number>>;
  baseModel: string | null;
  /** model_info as written, for /model/info. */
  modelInfo: Record<string, unknown>;
  /** litellm_params without secrets, for /model/info. */
  publicParams: Record<string, unknown>;
}

export interface GatewayConfig {
  file: string | null;
  deployments: Deployment[];
  masterKey: string | null;
  databaseUrl: string | null;
  maxRequestSizeBytes: number;
  dropParams: boolean;
  numRetries: number;
  /** Where a failed call goes next, by the kind of failure (router_settings / litellm_settings). */
  fallbacks: FallbackSettings;
  /** At most this many fallback groups a call. */
  maxFallbacks: number;
  /** How a group's deployment is picked (router_settings.routing_strategy and its args, model_group_alias). */
  routing: RouterOptions;
  /** Calls go only to deployments carrying one of their tags (router_settings.enable_tag_filtering). */
  tagFiltering: boolean;
  /** A prompt longer than a deployment's max_input_tokens skips it (router_settings.enable_pre_call_checks). */
  preCallChecks: boolean;
  /** Retries per error class in place of num_retries (retry_policy), and per model group (model_group_retry_policy). */
  retryPolicy: PerClass | null;
  groupRetryPolicy: Record<string, PerClass>;
  /** Whether keys with a budget may call models without a known price (they would cost 0). */
  allowUnpricedWithBudget: boolean;
  /** Reserve the worst case (max_tokens, else the model's maximum output) for every call. */
  strictBudgetReservations: boolean;
  /** Lower max_tokens to what the budget can pay for, instead of refusing (never with reasoning parameters). */
  lowerMaxTokensToFit: boolean;
  /** A team's keys are held against their user's personal budget too (LiteLLM's apply_user_budget_to_team_keys). */
  applyUserBudgetToTeamKeys: boolean;
  /** Where daily, weekly and monthly budget periods end at midnight (litellm_settings.timezone, IANA). */
  timezone: string;
  /** While the database is unreachable, keys seen before keep working. */
  allowRequestsOnDbUnavailable: boolean;
  /** How long calls in flight may take to finish on SIGTERM before they are cut. */
  shutdownGraceMs: number;
  /** Spend logs older than this are deleted (hourly rollups are kept); null keeps them all. */
  spendLogsRetention: string | null;
  /** Responses API answers kept for previous_response_id are deleted after this (general_settings.responses_retention_period). */
  responsesRetention: string;
  /** A LiteLLM-format model_prices_and_context_window.json to price from (path or URL). */
  modelCostMap: string | null;
  /** Whether customers not created by an admin are created when a request names them (spend per customer). */
  trackCustomers: boolean;
  /** The Redis every instance shares limits and budgets through; null: each instance keeps its own. */
  redisUrl: string | null;
  /** Redis unreachable: `closed` refuses calls with limits or budgets (503), `open` keeps them per instance. */
  redisFailureMode: 'open' | 'closed';
  /** Settings of the file this version does not act on (LiteLLM's that change behaviour among them), for /health/readiness. */
  ignoredSettings: string[];
  /** The budget of every virtual key's calls together (litellm_settings.max_budget, budget_duration); null: none. */
  proxyBudget: { maxBudgetNanos: number; duration: string | null } | null;
  /** Budgets of tags from the config (litellm_settings.tag_budget_config). */
  tagBudgets: { name: string; maxBudgetNanos: number; duration: string | null }[];
  /** The response cache (litellm_settings.cache, cache_params); null: off. */
  cache: CacheSettings | null;
  /** Background health checks of every deployment, this often (general_settings.background_health_checks); null: none. */
  healthCheckIntervalMs: number | null;
  /** Deployments resting after failures (router_settings.allowed_fails, cooldown_time, disable_cooldowns). */
  cooldowns: CooldownSettings;
  /** Budget alerts (general_settings.alerting with budget_alerts among alert_types); null: none. */
  alerts: AlertSettings | null;
}

export interface AlertSettings {
  /** Plain JSON events to this URL (alerting: webhook, WEBHOOK_URL). */
  webhookUrl: string | null;
  /** Slack's incoming-webhook text (alerting: slack, SLACK_WEBHOOK_URL). */
  slackUrl: string | null;
  /** Fractions of max_budget at which an alert fires, ascending (alerting_args.budget_alert_thresholds, in percent). */
  thresholds: number[];
}

/** LiteLLM's budget alerts: 15 % left, 5 % left, crossed. */
const DEFAULT_ALERT_THRESHOLDS = [85, 95, 100];

/** What general_settings.alerting asks for, with the URLs from the environment; warnings for what cannot be done. */
function alertsOf(gs: { alerting?: string[] | null; alert_types?: string[] | null; alerting_args?: { budget_alert_thresholds?: number[] | null } | null }, env: NodeJS.ProcessEnv, file: string, warnings: string[]): AlertSettings | null {
  const sinks = gs.alerting ?? [];
  if (sinks.length === 0) return null;
  if (gs.alert_types && !gs.alert_types.includes('budget_alerts')) return null;
  const url = (name: string) => {
    const v = env[name];
    if (!v) return null;
    try {
      const u = new URL(v);
      if (u.protocol === 'http:' || u.protocol === 'https:') return v;
    } catch {}
    warnings.push(`${file}: general_settings.alerting: ${name} is not an http(s) URL; those alerts are not sent`);
    return null;
  };
  let webhookUrl: string | null = null;
  let slackUrl: string | null = null;
  for (const sink of sinks) {
    if (sink === 'webhook') {
      webhookUrl = url('WEBHOOK_URL');
      if (!env.WEBHOOK_URL) warnings.push(`${file}: general_settings.alerting: "webhook" needs WEBHOOK_URL; budget alerts are logged and counted only`);
    } else if (sink === 'slack') {
      slackUrl = url('SLACK_WEBHOOK_URL');
      if (!env.SLACK_WEBHOOK_URL) warnings.push(`${file}: general_settings.alerting: "slack" needs SLACK_WEBHOOK_URL; budget alerts are logged and counted only`);
    } else {
      warnings.push(`${file}: general_settings.alerting: "${sink}" is not supported by this version (webhook, slack); budget alerts are logged and counted`);
    }
  }
  const percents = gs.alerting_args?.budget_alert_thresholds ?? DEFAULT_ALERT_THRESHOLDS;
  return { webhookUrl, slackUrl, thresholds: [...new Set(percents)].sort((a, b) => a - b).map((p) => p / 100) };
}

export interface LoadResult {
  config: GatewayConfig;
  warnings: string[];
}

const DEFAULT_TIMEOUT_S = 600;
const DEFAULT_MAX_REQUEST_MB = 32;

/**
 * Where Redis is, as LiteLLM reads it: router_settings' redis_url, or its redis_host / redis_port /
 * redis_password, else the same from REDIS_URL, REDIS_HOST, REDIS_PORT, REDIS_PASSWORD (and
 * REDIS_USERNAME, REDIS_SSL).
 */
function redisUrlOf(rs: { redis_url?: string | null; redis_host?: string | null; redis_port?: number | null; redis_password?: string | null }, env: NodeJS.ProcessEnv): string | null {
  const url = rs.redis_url || (!rs.redis_host && env.REDIS_URL);
  if (url) return url;
  const host = rs.redis_host || env.REDIS_HOST;
  if (!host) return null;
  const u = new URL(`${env.REDIS_SSL === 'true' || env.REDIS_SSL === 'True' ? 'rediss' : 'redis'}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}`);
  u.port = String(rs.redis_port ?? (Number(env.REDIS_PORT) || 6379));
  const password = rs.redis_password || env.REDIS_PASSWORD;
  if (password) u.password = encodeURIComponent(password);
  if (env.REDIS_USERNAME) u.username = encodeURIComponent(env.REDIS_USERNAME);
  return u.toString();
}

/** `a.b[2].c` from a zod or walk path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

/** Replaces every `os.environ/NAME` string with the variable's value, recording the ones unset. */
function substituteEnv(value: unknown, path: PropertyKey[], env: NodeJS.ProcessEnv, missing: string[]): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith('os.environ/')) return value;
    const name = value.slice('os.environ/'.length);
    const v = env[name];
    if (v === undefined || v === '') {
      // (an unset master key is the start's to handle: it makes one, or refuses with a database, and says so)
      const where = formatPath(path);
      if (where !== 'general_settings.master_key') missing.push(`${where} refers to ${name}, which is not set`);
      return null;
    }
    return v;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, missing));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...path, k], env, missing);
    return out;
  }
  return value;
}

function deleteAt(root: unknown, path: readonly PropertyKey[], key: string): void {
  let node: any = root;
  for (const p of path) node = node?.[p as any];
  if (node && typeof node === 'object') delete node[key];
}

/** litellm_settings.cache and cache_params as settings; a Redis cache without its own address uses the gateway's Redis. */
function cacheOf(ls: NonNullable<z.infer<typeof ConfigFile>['litellm_settings']>, rs: NonNullable<z.infer<typeof ConfigFile>['router_settings']>, env: NodeJS.ProcessEnv): CacheSettings | null {
  if (!ls.cache) return null;
  const p = ls.cache_params ?? {};
  const own = p.url ?? (p.host ? `redis://${p.password ? `:${encodeURIComponent(p.password)}@` : ''}${p.host}:${p.port ?? 6379}` : null);
  const redisUrl = own ?? redisUrlOf(rs, env);
  // LiteLLM's proxy caches in Redis unless told otherwise; without any Redis, in this process.
  const type = p.type ?? (redisUrl ? 'redis' : 'local');
  return {
    type,
    // (LiteLLM's defaults: 10 minutes in memory, 1 minute in Redis)
    ttlMs: Math.round((p.ttl ?? (type === 'redis' ? 60 : 600)) * 1000),
    namespace: p.namespace ?? null,
    callTypes: p.supported_call_types ?? DEFAULT_CALL_TYPES,
    mode: p.mode ?? 'default_on',
    maxBytes: Math.round((p.max_size_mb ?? 64) * 1024 * 1024),
    scope: p.scope ?? 'team',
    billHits: p.count_hits_in_budgets ?? false,
    redisUrl: type === 'redis' ? redisUrl : null,
  };
}

function publicBase(apiBase: string): string {
  const u = new URL(apiBase);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** LiteLLM's policy objects (`RateLimitErrorRetries: 2`, `TimeoutErrorAllowedFails: 1`) by error class. */
function perClass(policy: Record<string, number | undefined> | null | undefined, suffix: 'Retries' | 'AllowedFails'): PerClass | null {
  if (!policy) return null;
  const out: PerClass = {};
  for (const [field, n] of Object.entries(policy)) {
    if (n === undefined) continue;
    const name = field.slice(0, -suffix.length).replace(/Error$/, '') as keyof PerClass;
    out[name] = n;
  }
  return out;
}

/** A fallback naming no model group would be skipped at every failure: said at start. */
function checkFallbackNames(f: FallbackSettings, router: Router, file: string, warnings: string[]): void {
  const lists: [string, Record<string, string[]> | null][] = [['fallbacks', f.fallbacks], ['context_window_fallbacks', f.contextWindow], ['content_policy_fallbacks', f.contentPolicy]];
  for (const [setting, map] of lists) {
    for (const [group, list] of Object.entries(map ?? {})) {
      for (const name of [group, ...list]) {
        if (!router.resolve(name)) warnings.push(`${file}: ${setting}: ${name} is not a model group of model_list: that fallback is never taken`);
      }
    }
  }
  for (const name of f.defaults) if (!router.resolve(name)) warnings.push(`${file}: default_fallbacks: ${name} is not a model group of model_list: that fallback is never taken`);
}

/** Validates, turning unknown keys into warnings (dropped) and anything else into one ConfigError. */
function validate(raw: unknown, file: string, warnings: string[], ignored: string[]): z.infer<typeof ConfigFile> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = ConfigFile.safeParse(raw);
    if (result.success) return result.data;
    const unknown = result.error.issues.filter((i) => i.code === 'unrecognized_keys');
    const real = result.error.issues.filter((i) => i.code !== 'unrecognized_keys');
    if (real.length > 0) {
      const issue = real[0]!;
      const where = formatPath(issue.path);
      throw new ConfigError(`${file}: ${where}: ${issue.message}`);
    }
    for (const issue of unknown) {
      for (const key of (issue as { keys: string[] }).keys) {
        const path = formatPath([...issue.path, key]);
        ignored.push(path);
        warnings.push(ignoredWarning(file, path));
        deleteAt(raw, issue.path, key);
      }
    }
  }
  throw new ConfigError(`${file}: could not be validated`);
}

/**
 * A model's litellm_params and model_info are open (provider parameters are passed on as given), so
 * the LiteLLM parameters this gateway knows it does not act on are looked for by name.
 */
function ignoredModelParams(parsed: z.infer<typeof ConfigFile>, file: string, warnings: string[], ignored: string[]): void {
  (parsed.model_list ?? []).forEach((entry, i) => {
    for (const [part, params] of [['litellm_params', entry.litellm_params], ['model_info', entry.model_info ?? {}]] as const) {
      for (const k of Object.keys(params)) {
        if (settingAt(`model_list.${part}.${k}`)?.support !== 'ignored') continue;
        const path = `model_list[${i}].${part}.${k}`;
        ignored.push(path);
        warnings.push(ignoredWarning(file, path));
      }
    }
  });
}

function seconds(v: number | null | undefined): number | null {
  return v == null ? null : Math.round(v * 1000);
}

/**
 * The provider of a deployment: its model's prefix, or LiteLLM's custom_llm_provider (then the whole
 * model name goes upstream). A prefix this version does not know is an error: taken for openai/, the
 * prefix would go upstream in the model name and, without api_base, to OpenAI with its key.
 */
function providerOf(model: string, custom: string | null | undefined, where: string, group: string): { provider: string; name: string } {
  if (custom) {
    if (!(custom in PROVIDERS)) throw new ConfigError(`${where}.custom_llm_provider: "${custom}" is not a provider this version knows (model "${group}")`);
    return { provider: custom, name: model.startsWith(`${custom}/`) ? model.slice(custom.length + 1) : model };
  }
  const split = splitProviderModel(model);
  const slash = model.indexOf('/');
  if (split.provider === 'openai' && slash > 0 && !model.startsWith('openai/')) {
    throw new ConfigError(
      `${where}.model: provider "${model.slice(0, slash)}" of "${model}" (model "${group}") is not one this version knows; for an OpenAI-compatible server, give api_base and custom_llm_provider: openai`,
    );
  }
  return split;
}

function buildDeployment(
  entry: ModelEntryShape,
  index: number,
  file: string,
  defaults: { timeoutMs: number },
  env: NodeJS.ProcessEnv,
  warnings: string[],
): Deployment | null {
  const p = entry.litellm_params;
  const where = `${file}: model_list[${index}].litellm_params.model`;
  const { provider, name } = providerOf(p.model, p.custom_llm_provider, `${file}: model_list[${index}].litellm_params`, entry.model_name);
  const spec = PROVIDERS[provider];
  if (!spec) {
    // splitProviderModel only returns providers we know: this one needs an adapter still to come.
    warnings.push(`${where}: provider "${provider}" is not supported by this version yet; model "${entry.model_name}" is skipped`);
    return null;
  }
  let vertex: ReturnType<typeof vertexSettings> | null = null;
  if (provider === 'vertex_ai') {
    try {
      vertex = vertexSettings(p as Record<string, unknown>, name, env);
    } catch (err) {
      throw new ConfigError(`${file}: model_list[${index}].litellm_params.${(err as Error).message}`);
    }
  }
  let aws: BedrockSettings | null = null;
  if (provider === 'bedrock') {
    try {
      aws = bedrockSettings(p as Record<string, unknown>, name, env);
    } catch (err) {
      throw new ConfigError(`${file}: model_list[${index}].litellm_params.${(err as Error).message}`);
    }
  }
  const apiBase = p.api_base ?? (spec.baseEnv ? env[spec.baseEnv] : undefined) ?? vertex?.base ?? aws?.base ?? spec.defaultBase;
  if (!apiBase) throw new ConfigError(`${file}: model_list[${index}].litellm_params.api_base: is required for provider "${provider}"`);
  try {
    new URL(apiBase);
  } catch {
    throw new ConfigError(`${file}: model_list[${index}].litellm_params.api_base: "${apiBase}" is not a URL`);
  }
  // (a Bedrock API key is the deployment's bearer token, in aws)
  const fromEnv = [spec.keyEnv, ...(spec.keyEnvAliases ?? [])].map((n) => (n ? env[n] : undefined)).find((v) => v);
  const apiKey = aws ? null : (p.api_key ?? fromEnv ?? null);
  const alreadyWarned = warnings.some((w) => w.includes(`model_list[${index}].litellm_params.api_key refers to`));
  if (!apiKey && !alreadyWarned && spec.keyEnv && !vertex && spec.defaultBase?.startsWith('https://')) {
    warnings.push(`${file}: model_list[${index}] (${entry.model_name}) has no api_key and ${spec.keyEnv} is not set: its calls will fail upstream`);
  }
  const adToken = provider === 'azure' ? (p.azure_ad_token ?? env.AZURE_AD_TOKEN ?? null) : null;
  let tokens = vertex?.tokens ?? null;
  if (provider === 'azure' && !apiKey && !adToken) {
    tokens = entraFromParams(p as Record<string, unknown>, env);
    if (!tokens) {
      warnings.push(`${file}: model_list[${index}] (${entry.model_name}) has no api_key, AZURE_API_KEY, azure_ad_token, AZURE_AD_TOKEN or Entra ID client credentials (tenant_id, client_id, client_secret): its calls will fail upstream`);
    }
  }
  const info = (entry.model_info ?? {}) as Record<string, unknown>;
  const prices: Deployment['prices'] = {};
  for (const f of PRICE_FIELDS) {
    const v = (p as Record<string, unknown>)[f] ?? info[f];
    if (typeof v === 'number') prices[f] = v;
  }
  const publicParams: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (!/key|secret|token|password|credential/i.test(k) || PRICE_FIELDS.includes(k as never)) publicParams[k] = v;
  }
  // (an api_base may hold a credential of its own, user:password@ or a key in its query: shown without)
  if (typeof publicParams.api_base === 'string') publicParams.api_base = publicBase(publicParams.api_base);
  const timeoutMs = seconds(p.timeout) ?? defaults.timeoutMs;
  const id =
    (typeof info.id === 'string' && info.id) ||
    createHash('sha256').update(JSON.stringify([entry.model_name, p])).digest('hex').slice(0, 32);
  return {
    id,
    modelName: entry.model_name,
    provider,
    wire: vertex?.wire ?? aws?.wire ?? spec.wire,
    // (Bedrock: the model without its route and region prefixes; an ARN's model may be named apart, in model_id)
    upstreamModel: aws?.model ?? name,
    apiBase: apiBase.replace(/\/+$/, ''),
    publicApiBase: publicBase(apiBase),
    apiKey,
    adToken,
    tokens,
    google: vertex ? { project: vertex.project, location: vertex.location, gcsBuckets: vertex.gcsBuckets } : null,
    aws: aws ? { modelId: aws.modelId, model: aws.model, region: aws.region, signing: aws.signing, bearer: aws.bearer, converseFields: aws.converseFields } : null,
    apiVersion: p.api_version ?? (spec.versionEnv ? env[spec.versionEnv] : undefined) ?? null,
    organization: p.organization ?? null,
    timeoutMs,
    streamTimeoutMs: seconds(p.stream_timeout) ?? timeoutMs,
    // (LiteLLM's router reads them beside litellm_params too)
    rpm: p.rpm ?? entry.rpm ?? null,
    tpm: p.tpm ?? entry.tpm ?? null,
    weight: p.weight ?? 1,
    weightGiven: p.weight != null,
    cooldownMs: p.cooldown_time == null ? null : Math.round(p.cooldown_time * 1000),
    tags: p.tags ?? [],
    maxRetries: p.max_retries ?? null,
    extraHeaders: p.extra_headers ?? {},
    dropParams: p.drop_params ?? false,
    additionalDropParams: p.additional_drop_params ?? [],
    prices,
    baseModel: typeof info.base_model === 'string' ? info.base_model : null,
    modelInfo: { ...info, id },
    publicParams,
  };
}

/** Loads a config file; `file` null means no file (an empty config). */
export function loadConfig(file: string | null, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const warnings: string[] = [];
  let raw: unknown = {};
  const name = file ?? '(no config file)';
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      // YAML 1.1, as PyYAML reads LiteLLM's configs: 20_000 is a number, yes/no/on/off are booleans.
      raw = parseYaml(text, { version: '1.1' }) ?? {};
    } catch (err) {
      throw new ConfigError(`${file}: is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: (top level): must be a mapping`);
  }
  // environment_variables are set first so that os.environ/ references can use them, as LiteLLM does.
  const envVars = (raw as Record<string, unknown>).environment_variables;
  if (envVars && typeof envVars === 'object') {
    for (const [k, v] of Object.entries(envVars)) if (v != null) env[k] = String(v);
  }
  const missing: string[] = [];
  raw = substituteEnv(raw, [], env, missing);
  for (const m of missing) warnings.push(`${name}: ${m}`);
  const ignored: string[] = [];
  const parsed = validate(raw, name, warnings, ignored);
  ignoredModelParams(parsed, name, warnings, ignored);

  type Section<K extends keyof typeof parsed> = NonNullable<(typeof parsed)[K]>;
  const gs: Section<'general_settings'> = parsed.general_settings ?? {};
  const ls: Section<'litellm_settings'> = parsed.litellm_settings ?? {};
  const rs: Section<'router_settings'> = parsed.router_settings ?? {};
  const timeoutMs = seconds(ls.request_timeout ?? rs.timeout) ?? DEFAULT_TIMEOUT_S * 1000;
  const deployments: Deployment[] = [];
  (parsed.model_list ?? []).forEach((entry, i) => {
    const d = buildDeployment(entry, i, name, { timeoutMs }, env, warnings);
    if (d) deployments.push(d);
  });
  const merged = (a: Record<string, string[]>[] | null | undefined, b: Record<string, string[]>[] | null | undefined) => {
    if (!a && !b) return null;
    const out: Record<string, string[]> = {};
    for (const item of [...(a ?? []), ...(b ?? [])]) Object.assign(out, item);
    return out;
  };
  const fallbacks: FallbackSettings = {
    fallbacks: merged(ls.fallbacks, rs.fallbacks) ?? {},
    contextWindow: merged(ls.context_window_fallbacks, rs.context_window_fallbacks),
    contentPolicy: merged(ls.content_policy_fallbacks, rs.content_policy_fallbacks),
    defaults: rs.default_fallbacks ?? ls.default_fallbacks ?? [],
  };
  const routing: RouterOptions = {
    strategy: rs.routing_strategy ?? 'simple-shuffle',
    latencyBuffer: rs.routing_strategy_args?.lowest_latency_buffer ?? 0,
    aliases: Object.fromEntries(Object.entries(rs.model_group_alias ?? {}).map(([alias, a]) => [alias, typeof a === 'string' ? { model: a, hidden: false } : { model: a.model, hidden: a.hidden ?? false }])),
  };
  checkFallbackNames(fallbacks, new Router(deployments, routing), name, warnings);
  for (const [alias, a] of Object.entries(routing.aliases)) {
    if (!deployments.some((d) => d.modelName === a.model)) warnings.push(`${name}: router_settings.model_group_alias: ${alias} points to ${a.model}, which is not a model group of model_list`);
  }

  const config: GatewayConfig = {
    file,
    deployments,
    masterKey: gs.master_key ?? null,
    databaseUrl: gs.database_url ?? null,
    maxRequestSizeBytes: Math.round((gs.max_request_size_mb ?? DEFAULT_MAX_REQUEST_MB) * 1024 * 1024),
    dropParams: ls.drop_params ?? false,
    numRetries: rs.num_retries ?? ls.num_retries ?? 0,
    fallbacks,
    maxFallbacks: rs.max_fallbacks ?? 5,
    routing,
    tagFiltering: rs.enable_tag_filtering ?? false,
    preCallChecks: rs.enable_pre_call_checks ?? false,
    retryPolicy: perClass(rs.retry_policy ?? ls.retry_policy, 'Retries'),
    groupRetryPolicy: Object.fromEntries(Object.entries(rs.model_group_retry_policy ?? {}).map(([g, p]) => [g, perClass(p, 'Retries')!])),
    allowUnpricedWithBudget: gs.allow_unpriced_models_with_budget ?? false,
    strictBudgetReservations: gs.strict_budget_reservations ?? false,
    lowerMaxTokensToFit: gs.lower_max_tokens_to_fit_budget ?? false,
    applyUserBudgetToTeamKeys: gs.apply_user_budget_to_team_keys ?? false,
    allowRequestsOnDbUnavailable: gs.allow_requests_on_db_unavailable ?? false,
    shutdownGraceMs: Math.round((gs.graceful_shutdown_timeout ?? 30) * 1000),
    spendLogsRetention: gs.maximum_spend_logs_retention_period ?? null,
    responsesRetention: gs.responses_retention_period ?? '30d',
    modelCostMap: ls.model_cost_map_url ?? env.LITELLM_MODEL_COST_MAP_URL ?? null,
    trackCustomers: !(ls.disable_end_user_cost_tracking ?? false),
    timezone: ls.timezone ?? 'UTC',
    redisUrl: redisUrlOf(rs, env),
    redisFailureMode: gs.redis_failure_mode ?? 'open',
    ignoredSettings: ignored,
    proxyBudget: ls.max_budget ? { maxBudgetNanos: usdToNanos(ls.max_budget), duration: ls.budget_duration ?? null } : null,
    tagBudgets: Object.entries(ls.tag_budget_config ?? {}).map(([name, b]) => ({ name, maxBudgetNanos: usdToNanos(b.max_budget), duration: b.budget_duration ?? null })),
    alerts: alertsOf(gs, env, name, warnings),
    cache: cacheOf(ls, rs, env),
    healthCheckIntervalMs: gs.background_health_checks ? Math.round((gs.health_check_interval ?? 300) * 1000) : null,
    // LiteLLM's defaults: 3 failures a minute, 5 s.
    cooldowns: {
      allowedFails: rs.allowed_fails ?? 3,
      allowedFailsPolicy: perClass(rs.allowed_fails_policy ?? ls.allowed_fails_policy, 'AllowedFails'),
      cooldownMs: Math.round((rs.cooldown_time ?? 5) * 1000),
      disabled: rs.disable_cooldowns ?? false,
    },
  };
  return { config: Object.freeze(config), warnings };
}
