// Every LiteLLM config.yaml setting this gateway knows, and what it does with it: the one table that
// the loader's warnings at start, `llm-proxy check-config` and the README's compatibility section
// (generated from it, kept in step by a test) all read. A path is the setting's place in the file,
// list indices left out (model_list.litellm_params.rpm).

export type Support =
  /** Read and acted on as LiteLLM does. */
  | 'honoured'
  /** Read and acted on, in a way of this gateway's own (the note says how). */
  | 'differs'
  /** A setting of this gateway's, which LiteLLM does not have. */
  | 'own'
  /** A LiteLLM setting this gateway does not act on. */
  | 'ignored';

export interface Setting {
  path: string;
  support: Support;
  /** An ignored setting that changes what LiteLLM's proxy does (routing, budgets, auth, callbacks, ...). */
  behaviour?: true;
  note?: string;
}

const h = (path: string, note?: string): Setting => ({ path, support: 'honoured', note });
const d = (path: string, note: string): Setting => ({ path, support: 'differs', note });
const own = (path: string, note: string): Setting => ({ path, support: 'own', note });
/** Ignored, and it changes what LiteLLM does. */
const off = (path: string, note: string): Setting => ({ path, support: 'ignored', behaviour: true, note });
/** Ignored, and nothing a caller sees depends on it. */
const quiet = (path: string, note: string): Setting => ({ path, support: 'ignored', note });

const CALLBACKS = 'logging and observability integrations (Langfuse, Datadog, OpenTelemetry, ...): none here; spend logs, /metrics and the access log are what there is';
const GUARDRAILS = 'guardrails: none here';
const MCP = 'MCP servers: this gateway has no MCP gateway';
const DB_POOL = 'database connection tuning: the pool is this gateway\'s own (10 connections)';
const JWT = 'JWT / OAuth2 / SSO sign-in: virtual keys, the master key and dashboard passwords are the credentials here';
const SECRETS = 'secret managers: credentials come from os.environ/ references and the environment';

export const SETTINGS: readonly Setting[] = [
  // The file's sections.
  h('model_list'),
  h('general_settings'),
  h('litellm_settings'),
  h('router_settings'),
  h('environment_variables', 'set before os.environ/ references are read'),
  off('include', 'other files merged into this one: put their model_list entries here'),
  off('credential_list', 'named credentials for models (litellm_credential_name): give each model its api_key'),
  off('guardrails', GUARDRAILS),
  off('mcp_servers', MCP),
  quiet('mcp_aliases', MCP),
  off('callback_settings', CALLBACKS),
  off('files_settings', 'the Files and Batches APIs: not served here'),
  off('finetune_settings', 'the fine-tuning API: not served here'),
  off('assistant_settings', 'the Assistants API: not served here'),
  off('vector_store_registry', 'vector stores: not served here'),
  off('search_tools', 'search tools: not served here'),
  off('prompts', 'prompt management: not served here'),

  // A model.
  h('model_list.model_name'),
  h('model_list.litellm_params', 'provider parameters this gateway does not name are sent to the provider as given'),
  h('model_list.model_info'),
  h('model_list.rpm', 'a deployment\'s limits beside its litellm_params, as litellm_params.rpm'),
  h('model_list.tpm', 'as litellm_params.tpm'),
  ...['model', 'api_key', 'api_base', 'api_version', 'custom_llm_provider', 'azure_ad_token', 'organization', 'rpm', 'tpm', 'weight', 'tags', 'max_retries', 'extra_headers', 'drop_params', 'additional_drop_params', 'cooldown_time']
    .map((k) => h(`model_list.litellm_params.${k}`)),
  // Read by the providers that take them (from the open litellm_params, not the schema).
  ...['vertex_project', 'vertex_location', 'vertex_region', 'vertex_credentials', 'aws_region_name', 'aws_access_key_id', 'aws_secret_access_key', 'aws_session_token',
    'aws_session_name', 'aws_profile_name', 'aws_role_name', 'aws_web_identity_token', 'aws_external_id', 'aws_sts_endpoint', 'aws_bedrock_runtime_endpoint',
    'tenant_id', 'client_id', 'client_secret', 'azure_scope', 'guardrailConfig', 'performanceConfig']
    .map((k) => h(`model_list.litellm_params.${k}`)),
  h('model_list.litellm_params.timeout', 'seconds for a whole answer'),
  h('model_list.litellm_params.stream_timeout', 'seconds to the first byte, and between stream chunks'),
  ...['input_cost_per_token', 'output_cost_per_token', 'cache_read_input_token_cost', 'cache_creation_input_token_cost', 'cache_creation_input_token_cost_above_1hr', 'output_cost_per_reasoning_token', 'input_cost_per_token_above_200k_tokens', 'output_cost_per_token_above_200k_tokens', 'input_cost_per_query']
    .flatMap((k) => [h(`model_list.litellm_params.${k}`), h(`model_list.model_info.${k}`)]),
  ...['id', 'base_model', 'mode', 'max_tokens', 'max_input_tokens', 'max_output_tokens', 'access_groups'].map((k) => h(`model_list.model_info.${k}`)),
  off('model_list.litellm_params.litellm_credential_name', 'named credentials (credential_list): give the model its api_key'),
  off('model_list.litellm_params.mock_response', 'mock answers: every call goes to the provider'),
  off('model_list.litellm_params.max_budget', 'a budget per deployment: budgets hold per key, user, team, organization, customer, tag and model here'),
  off('model_list.litellm_params.budget_duration', 'a budget per deployment: see max_budget'),
  off('model_list.litellm_params.input_cost_per_second', 'prices per second of compute: prices here are per token (or per query)'),
  off('model_list.litellm_params.configurable_clientside_auth_params', 'credentials sent by clients: only the operator\'s are used'),
  off('model_list.litellm_params.use_in_pass_through', 'pass-through endpoints: not served here'),

  // general_settings.
  h('general_settings.master_key', 'compared in constant time; LITELLM_MASTER_KEY wins'),
  h('general_settings.database_url', 'DATABASE_URL wins; SQLite (sqlite:PATH) as well as PostgreSQL'),
  h('general_settings.background_health_checks'),
  h('general_settings.health_check_interval'),
  h('general_settings.max_request_size_mb'),
  h('general_settings.allow_requests_on_db_unavailable', 'during a database outage, keys seen before keep working'),
  h('general_settings.maximum_spend_logs_retention_period'),
  h('general_settings.alerting', 'webhook and slack, for budget alerts'),
  d('general_settings.alert_types', 'only budget_alerts are sent'),
  d('general_settings.alerting_args', 'budget_alert_thresholds (percent of max_budget) are read'),
  h('general_settings.apply_user_budget_to_team_keys', 'a user\'s budget also holds their team keys'),
  own('general_settings.allow_unpriced_models_with_budget', 'calls to a model without a price on a key with a budget are refused unless this is true'),
  own('general_settings.strict_budget_reservations', 'reserve the worst case (max_tokens, else the model\'s max output), not the expected cost'),
  own('general_settings.lower_max_tokens_to_fit_budget', 'max_tokens is lowered to what the budget left pays for, instead of refusing'),
  own('general_settings.redis_failure_mode', 'open (serve on this instance\'s counters) or closed (refuse) while Redis is down'),
  own('general_settings.graceful_shutdown_timeout', 'seconds calls in flight get at shutdown'),
  own('general_settings.responses_retention_period', 'how long Responses API answers are kept for previous_response_id'),
  off('general_settings.custom_auth', JWT),
  off('general_settings.enable_jwt_auth', JWT),
  off('general_settings.enable_oauth2_auth', JWT),
  off('general_settings.litellm_jwtauth', JWT),
  off('general_settings.allowed_routes', 'routes callers may use: key_type and allowed_routes on keys, and roles, decide here'),
  off('general_settings.admin_only_routes', 'routes only admins may use: roles decide here'),
  off('general_settings.public_routes', 'routes open without a key: only health, /metrics and the dashboard\'s sign-in are'),
  off('general_settings.allowed_ips', 'an allow-list of client IPs: put one in front (a firewall, the load balancer)'),
  off('general_settings.enforce_user_param', 'requiring the user field in every call'),
  off('general_settings.enforced_params', 'fields every call must carry'),
  off('general_settings.key_management_system', SECRETS),
  off('general_settings.key_management_settings', SECRETS),
  off('general_settings.use_google_kms', SECRETS),
  off('general_settings.use_azure_key_vault', SECRETS),
  off('general_settings.custom_key_generate', 'a custom function run at /key/generate'),
  off('general_settings.max_parallel_requests', 'a limit on calls in flight for the whole proxy: set max_parallel_requests on keys, teams or users'),
  off('general_settings.global_max_parallel_requests', 'see max_parallel_requests'),
  off('general_settings.max_in_flight_requests_per_worker', 'admission queues per worker: Node serves all calls on one event loop'),
  off('general_settings.max_queued_requests_per_worker', 'admission queues per worker: see max_in_flight_requests_per_worker'),
  off('general_settings.disable_spend_logs', 'a spend log is always written: budgets and exact metering depend on it'),
  off('general_settings.disable_reset_budget', 'budgets always reset at the end of their period'),
  off('general_settings.disable_budget_reservation', 'budget reservations are always on (see strict_budget_reservations)'),
  d('general_settings.fail_closed_budget_enforcement', 'always so here: a call whose expected cost does not fit the budget left is refused (LiteLLM by default lets it through, holding what is left)'),
  off('general_settings.store_model_in_db', 'models live in config.yaml (llm-proxy import litellm writes those of LiteLLM\'s database there)'),
  off('general_settings.store_prompts_in_spend_logs', 'prompts and answers are never stored or logged here'),
  off('general_settings.pass_through_endpoints', 'pass-through endpoints: not served here'),
  off('general_settings.alerting_threshold', 'alerts on slow or hanging calls: only budget alerts are sent'),
  off('general_settings.alert_to_webhook_url', 'a webhook per alert type: WEBHOOK_URL receives the budget alerts'),
  off('general_settings.infer_model_from_keys', 'models inferred from provider keys in the environment: list them in model_list'),
  off('general_settings.forward_client_headers_to_llm_api', 'only the providers\' own headers are passed on (openai-organization, openai-project, openai-beta; anthropic-beta), never others or the client\'s credential'),
  quiet('general_settings.forward_openai_org_id', 'the client\'s OpenAI-Organization header is always passed to OpenAI, unless the model sets organization'),
  off('general_settings.allow_client_side_credentials', 'credentials sent by clients: only the operator\'s are used'),
  off('general_settings.litellm_key_header_name', 'the key is read from Authorization, api-key, x-api-key or x-litellm-api-key'),
  off('general_settings.user_header_name', 'the customer is named by x-litellm-customer-id or x-litellm-end-user-id, else the body\'s user'),
  off('general_settings.ui_access_mode', 'who may sign in to the dashboard: admins and users with a password'),
  off('general_settings.max_response_size_mb', 'a bound on answers\' size'),
  off('general_settings.fail_closed_rate_limit_enforcement', 'see redis_failure_mode'),
  off('general_settings.completion_model', 'a model that every call is sent to'),
  off('general_settings.otel', CALLBACKS),
  off('general_settings.use_x_forwarded_for', 'the client address for allowed_ips: not used here'),
  off('general_settings.coordination_redis', 'a Redis of its own for coordination: instances coordinate through the one of router_settings.redis_* or REDIS_URL'),
  quiet('general_settings.use_redis_transaction_buffer', 'spend is journaled at once and written to the database within a second'),
  off('general_settings.enable_claude_code_gateway', 'Claude Code is served through /v1/messages with any key'),
  quiet('general_settings.database_connection_pool_limit', DB_POOL),
  quiet('general_settings.database_connection_timeout', DB_POOL),
  quiet('general_settings.database_connect_timeout', DB_POOL),
  quiet('general_settings.database_socket_timeout', DB_POOL),
  quiet('general_settings.proxy_batch_write_at', 'spend is journaled at once and written to the database within a second'),
  quiet('general_settings.proxy_budget_rescheduler_min_time', 'budget resets are checked every few seconds'),
  quiet('general_settings.proxy_budget_rescheduler_max_time', 'budget resets are checked every few seconds'),
  quiet('general_settings.disable_prisma_schema_update', 'migrations are this gateway\'s own, applied at start'),
  quiet('general_settings.disable_adding_master_key_hash_to_db', 'the master key is never stored'),
  quiet('general_settings.disable_master_key_return', 'the master key is never returned'),
  quiet('general_settings.user_api_key_cache_ttl', 'cached keys are dropped when they change, on every instance'),
  quiet('general_settings.health_check_details', 'health answers have one shape, with no credentials in it'),
  quiet('general_settings.health_check_concurrency', 'background health checks call every deployment at once'),
  quiet('general_settings.spend_report_frequency', 'spend reports: none are sent'),
  quiet('general_settings.maximum_spend_logs_retention_interval', 'old spend logs are pruned hourly'),
  quiet('general_settings.supported_db_objects', 'every record is read from the database'),
  quiet('general_settings.max_file_size_mb', 'the Files API is not served here'),
  quiet('general_settings.proxy_config_reload_interval_seconds', 'config.yaml is read at start'),

  // litellm_settings.
  h('litellm_settings.drop_params'),
  h('litellm_settings.model_cost_map_url'),
  h('litellm_settings.request_timeout'),
  h('litellm_settings.num_retries'),
  h('litellm_settings.fallbacks'),
  h('litellm_settings.context_window_fallbacks'),
  h('litellm_settings.content_policy_fallbacks'),
  h('litellm_settings.default_fallbacks'),
  h('litellm_settings.retry_policy'),
  h('litellm_settings.allowed_fails_policy'),
  h('litellm_settings.disable_end_user_cost_tracking'),
  h('litellm_settings.timezone', 'daily, weekly and monthly budget periods end at midnight there'),
  h('litellm_settings.max_budget', 'the whole proxy\'s budget, held before every call'),
  h('litellm_settings.budget_duration'),
  h('litellm_settings.tag_budget_config'),
  h('litellm_settings.cache'),
  d('litellm_settings.cache_params', 'local and redis only; answers are shared within a team (scope), never across teams'),
  ...['type', 'host', 'port', 'password', 'url', 'namespace', 'ttl', 'supported_call_types', 'mode'].map((k) => h(`litellm_settings.cache_params.${k}`)),
  own('litellm_settings.cache_params.max_size_mb', 'the bound of the in-process cache, in MB'),
  own('litellm_settings.cache_params.scope', 'whose answers a hit may be: team (default), key or global'),
  own('litellm_settings.cache_params.count_hits_in_budgets', 'a hit is billed what its answer cost'),
  d('litellm_settings.set_verbose', 'accepted; logging is set by LOG_LEVEL or --detailed_debug'),
  d('litellm_settings.json_logs', 'accepted; logs are always JSON lines'),
  d('litellm_settings.turn_off_message_logging', 'prompts and answers are never logged here, whatever it says'),
  d('litellm_settings.redact_user_api_key_info', 'keys are never logged here, whatever it says'),
  off('litellm_settings.success_callback', CALLBACKS),
  off('litellm_settings.failure_callback', CALLBACKS),
  off('litellm_settings.callbacks', CALLBACKS),
  off('litellm_settings.service_callback', CALLBACKS),
  off('litellm_settings.service_callbacks', CALLBACKS),
  off('litellm_settings.guardrails', GUARDRAILS),
  off('litellm_settings.modify_params', 'requests rewritten to fit a provider (a first user message added, ...): sent as given'),
  off('litellm_settings.default_team_settings', 'settings per team from the config: set them with /team/new and /team/update'),
  off('litellm_settings.default_internal_user_params', 'defaults for new users: give them at /user/new'),
  off('litellm_settings.default_key_generate_params', 'defaults for new keys: give them at /key/generate'),
  off('litellm_settings.upperbound_key_generate_params', 'upper bounds on what /key/generate may set: only admins and team admins make keys'),
  off('litellm_settings.key_generation_settings', 'who may make keys: roles decide here'),
  off('litellm_settings.max_end_user_budget', 'a budget for every customer: give customers a budget (/customer/new)'),
  off('litellm_settings.max_internal_user_budget', 'a budget for every new user: give it at /user/new'),
  off('litellm_settings.internal_user_budget_duration', 'see max_internal_user_budget'),
  off('litellm_settings.ssl_verify', 'TLS certificates are always verified (NODE_EXTRA_CA_CERTS adds a CA)'),
  off('litellm_settings.enable_json_schema_validation', 'answers are not checked against response_format\'s schema'),
  off('litellm_settings.force_ipv4', 'providers are reached over the addresses the system resolves'),
  quiet('litellm_settings.langfuse_default_tags', CALLBACKS),
  quiet('litellm_settings.telemetry', 'nothing is sent anywhere'),
  quiet('litellm_settings.enable_preview_features', 'no preview features'),
  quiet('litellm_settings.public_model_groups', 'the model hub: the dashboard lists models to signed-in users'),
  quiet('litellm_settings.return_response_headers', 'providers\' headers always come back, prefixed llm_provider-'),

  // router_settings.
  h('router_settings.routing_strategy', 'simple-shuffle, least-busy, latency-based-routing, usage-based-routing(-v2), cost-based-routing'),
  h('router_settings.routing_strategy_args', 'lowest_latency_buffer'),
  h('router_settings.num_retries'),
  h('router_settings.fallbacks'),
  h('router_settings.context_window_fallbacks'),
  h('router_settings.content_policy_fallbacks'),
  h('router_settings.default_fallbacks'),
  h('router_settings.retry_policy'),
  h('router_settings.allowed_fails_policy'),
  h('router_settings.model_group_retry_policy'),
  h('router_settings.enable_tag_filtering'),
  h('router_settings.enable_pre_call_checks'),
  h('router_settings.model_group_alias'),
  h('router_settings.max_fallbacks'),
  h('router_settings.timeout'),
  h('router_settings.allowed_fails'),
  h('router_settings.cooldown_time'),
  h('router_settings.disable_cooldowns'),
  d('router_settings.redis_url', 'the Redis that several instances share their limits, budgets and cooldowns through'),
  d('router_settings.redis_host', 'see redis_url'),
  d('router_settings.redis_port', 'see redis_url'),
  d('router_settings.redis_password', 'see redis_url'),
  off('router_settings.redis_db', 'a Redis database number: give it in redis_url (redis://HOST:PORT/DB)'),
  off('router_settings.provider_budget_config', 'budgets per provider: budgets hold per key, user, team, organization, customer, tag and model here'),
  off('router_settings.optional_pre_call_checks', 'region and prompt-caching checks before routing'),
  off('router_settings.default_max_parallel_requests', 'calls in flight per deployment: set rpm/tpm on deployments, max_parallel_requests on keys'),
  off('router_settings.default_priority', 'priority queues: calls are served as they come'),
  off('router_settings.caching_groups', 'model groups sharing cached answers: answers are cached per model group'),
  off('router_settings.cache_responses', 'see litellm_settings.cache'),
  off('router_settings.model_group_affinity_config', 'sticky routing: each call is routed by the strategy'),
  off('router_settings.deployment_affinity_ttl_seconds', 'sticky routing: see model_group_affinity_config'),
  off('router_settings.default_litellm_params', 'parameters added to every call: set them per model'),
  off('router_settings.ignore_invalid_deployments', 'a deployment that cannot be read stops the start'),
  off('router_settings.alerting_config', CALLBACKS),
  off('router_settings.guardrail_list', GUARDRAILS),
  off('router_settings.stream_timeout', 'set stream_timeout per model (litellm_params)'),
  quiet('router_settings.retry_after', 'retries follow the provider\'s retry-after, within the call\'s timeout'),
  quiet('router_settings.polling_interval', 'nothing is polled'),
  quiet('router_settings.client_ttl', 'connections to providers are pooled for the process\'s life'),
  quiet('router_settings.set_verbose', 'see LOG_LEVEL'),
  quiet('router_settings.debug_level', 'see LOG_LEVEL'),
];

const BY_PATH = new Map(SETTINGS.map((s) => [s.path, s]));

/** The table's entry for a place in a config file (`model_list[2].litellm_params.rpm` finds `model_list.litellm_params.rpm`). */
export function settingAt(path: string): Setting | undefined {
  return BY_PATH.get(path.replace(/\[\d+\]/g, ''));
}

/** The warning at start for a setting the loader does not use (unknown to the schema). */
export function ignoredWarning(file: string, path: string): string {
  const s = settingAt(path);
  if (s?.support === 'ignored' && s.behaviour) return `${file}: ${path} changes what LiteLLM's proxy does, and this version does not do it: IGNORED (${s.note}; listed in /health/readiness)`;
  if (s?.support === 'ignored') return `${file}: ${path} is a LiteLLM setting this gateway has no use for, ignored (${s.note})`;
  return `${file}: ${path} is not a known setting and is ignored`;
}

const SUPPORT_TEXT: Record<Support, string> = {
  honoured: 'honoured',
  differs: 'honoured differently',
  own: 'this gateway\'s own',
  ignored: 'ignored',
};

/** The README's compatibility section, made from the table (test/config/settings.test.ts keeps the README in step). */
export function compatibilityMarkdown(): string {
  const out: string[] = [];
  const sections: [string, string][] = [['The file', ''], ['`model_list`', 'model_list.'], ['`general_settings`', 'general_settings.'], ['`litellm_settings`', 'litellm_settings.'], ['`router_settings`', 'router_settings.']];
  for (const [title, prefix] of sections) {
    const rows = SETTINGS.filter((s) => (prefix ? s.path.startsWith(prefix) : !s.path.includes('.')));
    const name = (s: Setting) => `\`${s.path.slice(prefix.length)}\``;
    const honoured = rows.filter((s) => s.support === 'honoured' && !s.note);
    out.push(`**${title}.**${honoured.length ? ` Honoured as LiteLLM does: ${honoured.map(name).join(', ')}.` : ''}`);
    out.push('', '| setting | here | how |', '|---|---|---|');
    for (const s of rows.filter((r) => r.support !== 'honoured' || r.note)) {
      const here = s.support === 'ignored' && s.behaviour ? '**ignored** (changes behaviour)' : SUPPORT_TEXT[s.support];
      out.push(`| ${name(s)} | ${here} | ${(s.note ?? '').replaceAll('|', '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}
