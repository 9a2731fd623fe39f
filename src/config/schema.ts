// The LiteLLM config.yaml format, as far as this version uses it. Objects are strict so that unknown
// keys surface as issues; load.ts turns those into warnings and drops the keys.
import { z } from 'zod';
import { STRATEGIES } from '../router/router.ts';
import { isTimeZone } from '../policy/periods.ts';
import { isDuration } from '../admin/durations.ts';

const nonNeg = () => z.coerce.number<unknown>().min(0, 'must be 0 or more').nullish();
const posInt = () => z.coerce.number<unknown>().int('must be a whole number').min(0, 'must be 0 or more').nullish();
const str = () => z.string().nullish();

/** Price fields (USD per unit), accepted in `litellm_params` and `model_info`. */
export const PRICE_FIELDS = [
  'input_cost_per_token',
  'output_cost_per_token',
  'cache_read_input_token_cost',
  'cache_creation_input_token_cost',
  'cache_creation_input_token_cost_above_1hr',
  'output_cost_per_reasoning_token',
  'input_cost_per_token_above_200k_tokens',
  'output_cost_per_token_above_200k_tokens',
  'input_cost_per_query',
] as const;
const prices = Object.fromEntries(PRICE_FIELDS.map((f) => [f, nonNeg()]));

// litellm_params also carries provider parameters we pass on (temperature defaults, etc.), so it is loose.
export const LitellmParams = z.looseObject({
  model: z.string({ error: 'is required (provider/model, for example openai/gpt-4o)' }).min(1, 'must not be empty'),
  api_key: str(),
  api_base: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).nullish(),
  api_version: str(),
  // The provider when the model name has no known prefix (LiteLLM's name); the whole name goes upstream.
  custom_llm_provider: str(),
  // Azure: a Microsoft Entra ID token, sent as a bearer token when there is no api_key.
  azure_ad_token: str(),
  organization: str(),
  timeout: z.coerce.number<unknown>().positive('must be more than 0 seconds').nullish(),
  stream_timeout: z.coerce.number<unknown>().positive('must be more than 0 seconds').nullish(),
  rpm: posInt(),
  tpm: posInt(),
  weight: z.coerce.number<unknown>().positive('must be more than 0').nullish(),
  // How long this deployment rests after failures (seconds), in place of router_settings.cooldown_time.
  cooldown_time: z.coerce.number<unknown>().min(0, 'must be 0 or more seconds').nullish(),
  // Tag routing (router_settings.enable_tag_filtering): calls carrying one of these come here.
  tags: z.array(z.string().min(1, 'must not be empty')).nullish(),
  max_retries: posInt(),
  extra_headers: z.record(z.string(), z.string()).nullish(),
  // Parameters this deployment's provider does not take: dropped (LiteLLM's names).
  drop_params: z.boolean().nullish(),
  additional_drop_params: z.array(z.string().min(1, 'must not be empty')).nullish(),
  ...prices,
});

export const ModelInfo = z.looseObject({
  id: str(),
  base_model: str(),
  mode: str(),
  max_tokens: posInt(),
  max_input_tokens: posInt(),
  max_output_tokens: posInt(),
  // Model access groups this deployment's model group belongs to: a key, team or organization may
  // name a group in its models.
  access_groups: z.array(z.string().min(1, 'must not be empty')).nullish(),
  ...prices,
});

export const ModelEntry = z.strictObject({
  model_name: z.string({ error: 'is required' }).min(1, 'must not be empty'),
  litellm_params: LitellmParams,
  model_info: ModelInfo.nullish(),
  // A deployment's limits may sit beside its litellm_params, as in LiteLLM's examples.
  rpm: posInt(),
  tpm: posInt(),
});

const Fallbacks = z.array(z.record(z.string(), z.array(z.string()))).nullish();
const DefaultFallbacks = z.array(z.string().min(1)).nullish();
const count = () => z.coerce.number<unknown>().int('must be a whole number').min(0, 'must be 0 or more').optional();
/** LiteLLM's RetryPolicy: retries per error class, in place of num_retries for that class. */
export const RetryPolicy = z.strictObject({
  BadRequestErrorRetries: count(),
  AuthenticationErrorRetries: count(),
  TimeoutErrorRetries: count(),
  RateLimitErrorRetries: count(),
  ContentPolicyViolationErrorRetries: count(),
  InternalServerErrorRetries: count(),
  ServiceUnavailableErrorRetries: count(),
  NotFoundErrorRetries: count(),
  DefaultRetries: count(),
});
/** LiteLLM's AllowedFailsPolicy: failures a minute per error class before a deployment rests. */
export const AllowedFailsPolicy = z.strictObject({
  BadRequestErrorAllowedFails: count(),
  AuthenticationErrorAllowedFails: count(),
  TimeoutErrorAllowedFails: count(),
  RateLimitErrorAllowedFails: count(),
  ContentPolicyViolationErrorAllowedFails: count(),
  InternalServerErrorAllowedFails: count(),
  ServiceUnavailableErrorAllowedFails: count(),
  NotFoundErrorAllowedFails: count(),
});
/** Settings LiteLLM reads from router_settings and from litellm_settings alike. */
const FailureSettings = {
  num_retries: posInt(),
  fallbacks: Fallbacks,
  context_window_fallbacks: Fallbacks,
  content_policy_fallbacks: Fallbacks,
  default_fallbacks: DefaultFallbacks,
  retry_policy: RetryPolicy.nullish(),
  allowed_fails_policy: AllowedFailsPolicy.nullish(),
};

export const GeneralSettings = z.strictObject({
  master_key: str(),
  // Every deployment checked this often in the background (seconds; LiteLLM's default 300), the
  // results feeding the router, /health and /health/readiness.
  background_health_checks: z.boolean().nullish(),
  health_check_interval: z.coerce.number<unknown>().positive('must be more than 0 seconds').nullish(),
  database_url: str(),
  max_request_size_mb: z.coerce.number<unknown>().positive('must be more than 0').nullish(),
  allow_unpriced_models_with_budget: z.boolean().nullish(),
  strict_budget_reservations: z.boolean().nullish(),
  allow_requests_on_db_unavailable: z.boolean().nullish(),
  graceful_shutdown_timeout: z.coerce.number<unknown>().min(0, 'must be 0 or more seconds').nullish(),
  lower_max_tokens_to_fit_budget: z.boolean().nullish(),
  apply_user_budget_to_team_keys: z.boolean().nullish(),
  redis_failure_mode: z.enum(['open', 'closed']).nullish(),
  // LiteLLM's refusal of a call whose reservation does not fit: always so here (settings.ts).
  fail_closed_budget_enforcement: z.unknown().optional(),
  maximum_spend_logs_retention_period: z.string().regex(/^\d+\s*(s|m|h|d|w|mo)$/, 'must be a duration such as 30d').nullish(),
  // How long Responses API answers are kept for previous_response_id and GET /v1/responses/{id}.
  responses_retention_period: z.string().regex(/^\d+\s*(s|m|h|d|w|mo)$/, 'must be a duration such as 30d').nullish(),
  // Where alerts go (LiteLLM's names): "webhook" (WEBHOOK_URL), "slack" (SLACK_WEBHOOK_URL).
  alerting: z.array(z.string()).nullish(),
  alert_types: z.array(z.string()).nullish(),
  alerting_args: z
    .looseObject({
      // Percent of max_budget at which a budget alert fires, once per budget period each.
      budget_alert_thresholds: z
        .array(z.coerce.number<unknown>().gt(0, 'must be more than 0 (percent of max_budget)').max(100, 'must be 100 (percent of max_budget) or less'))
        .min(1, 'must list at least one percentage')
        .nullish(),
    })
    .nullish(),
});

export const LitellmSettings = z.strictObject({
  drop_params: z.boolean().nullish(),
  model_cost_map_url: str(),
  request_timeout: z.coerce.number<unknown>().positive('must be more than 0 seconds').nullish(),
  ...FailureSettings,
  disable_end_user_cost_tracking: z.boolean().nullish(),
  timezone: z.string().refine(isTimeZone, { error: 'is not a time zone name this runtime knows (IANA, e.g. "Europe/Paris" or "UTC")' }).nullish(),
  // The budget of the whole proxy (USD; 0 is none, as in LiteLLM) and its period.
  max_budget: z.coerce.number<unknown>().nonnegative('must be 0 (none) or more USD').nullish(),
  budget_duration: z.string().refine(isDuration, { error: 'is not a duration (30s, 15m, 2h, 1d, 1w, 1mo, ...)' }).nullish(),
  // Budgets of tags, by tag name (as /tag/new makes them).
  tag_budget_config: z
    .record(
      z.string().min(1).max(256),
      z.strictObject({
        max_budget: z.coerce.number<unknown>().nonnegative('must be 0 or more USD'),
        budget_duration: z.string().refine(isDuration, { error: 'is not a duration (30s, 15m, 2h, 1d, 1w, 1mo, ...)' }).nullish(),
      }),
    )
    .nullish(),
  // The response cache (LiteLLM's names): cache: true, and where and how long (cache_params).
  cache: z.boolean().nullish(),
  cache_params: z
    .strictObject({
      type: z.enum(['local', 'redis'], { error: 'must be local or redis (the types this gateway keeps answers in)' }).nullish(),
      host: str(),
      port: posInt(),
      password: str(),
      url: str(),
      namespace: str(),
      ttl: z.coerce.number<unknown>().min(0, 'must be 0 or more seconds').nullish(),
      supported_call_types: z.array(z.string().min(1)).nullish(),
      mode: z.enum(['default_on', 'default_off'], { error: 'must be default_on or default_off' }).nullish(),
      // The in-process cache's bound, in MB (this gateway's; LiteLLM bounds its by item count).
      max_size_mb: z.coerce.number<unknown>().positive('must be more than 0 MB').nullish(),
      // Whose answers a hit may be: team (the default: the caller's team, else its key), key, or global.
      scope: z.enum(['team', 'key', 'global'], { error: 'must be team, key or global' }).nullish(),
      // A hit is billed what its answer cost (budgets and spend count it, for chargeback), not 0.
      count_hits_in_budgets: z.boolean().nullish(),
    })
    .nullish(),
  // Accepted; what they ask is already so, or set elsewhere (settings.ts).
  set_verbose: z.unknown().optional(),
  json_logs: z.unknown().optional(),
  turn_off_message_logging: z.unknown().optional(),
  redact_user_api_key_info: z.unknown().optional(),
});

export const RouterSettings = z.strictObject({
  ...FailureSettings,
  routing_strategy: z.enum(STRATEGIES, { error: `must be one of: ${STRATEGIES.join(', ')}` }).nullish(),
  routing_strategy_args: z
    .looseObject({ lowest_latency_buffer: z.coerce.number<unknown>().min(0, 'must be 0 or more').nullish() })
    .nullish(),
  enable_tag_filtering: z.boolean().nullish(),
  // A prompt longer than a deployment's context window (max_input_tokens) skips that deployment.
  enable_pre_call_checks: z.boolean().nullish(),
  model_group_alias: z
    .record(z.string().min(1), z.union([z.string().min(1), z.strictObject({ model: z.string().min(1), hidden: z.boolean().nullish() })]))
    .nullish(),
  model_group_retry_policy: z.record(z.string(), RetryPolicy).nullish(),
  // At most this many fallback groups a call (the request's own list included): LiteLLM's default, 5.
  max_fallbacks: posInt(),
  timeout: z.coerce.number<unknown>().positive('must be more than 0 seconds').nullish(),
  // Deployments whose calls fail more than allowed_fails times a minute (or answer 429) rest cooldown_time seconds.
  allowed_fails: posInt(),
  cooldown_time: z.coerce.number<unknown>().min(0, 'must be 0 or more seconds').nullish(),
  disable_cooldowns: z.boolean().nullish(),
  // The Redis that several instances share their limits and budgets through (else REDIS_URL, REDIS_HOST, ...).
  redis_url: str(),
  redis_host: str(),
  redis_port: posInt(),
  redis_password: str(),
});

export const ConfigFile = z.strictObject({
  model_list: z.array(ModelEntry).nullish(),
  general_settings: GeneralSettings.nullish(),
  litellm_settings: LitellmSettings.nullish(),
  router_settings: RouterSettings.nullish(),
  // (a variable left empty, `NAME:`, is null in YAML: not set, as LiteLLM leaves it)
  environment_variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable()).nullish(),
});

export type ConfigFileShape = z.infer<typeof ConfigFile>;
export type ModelEntryShape = z.infer<typeof ModelEntry>;
