// One registry of the errors the gateway itself raises. README.md documents the same table
// (test/http/errors.test.ts keeps the two in step). Types are LiteLLM's strings, codes are strings.

export interface ErrorSpec {
  status: number;
  type: string;
  /** What the README says about it. */
  doc: string;
}

export const ERRORS = {
  missing_key: { status: 401, type: 'auth_error', doc: 'No credential in `Authorization: Bearer`, `api-key` or `x-api-key`.' },
  invalid_key: { status: 401, type: 'auth_error', doc: 'The credential is not the master key nor a known virtual key.' },
  blocked_key: { status: 401, type: 'auth_error', doc: 'The virtual key is blocked (`/key/block`).' },
  expired_key: { status: 400, type: 'expired_key', doc: 'The virtual key is past its `expires` time.' },
  blocked_team: { status: 401, type: 'auth_error', doc: "The key's team is blocked (`/team/block`)." },
  model_access_denied: { status: 403, type: 'key_model_access_denied', doc: "The model is not in the key's `models`." },
  team_model_access_denied: { status: 403, type: 'team_model_access_denied', doc: "The model is not in the `models` of the key's team." },
  user_model_access_denied: { status: 403, type: 'user_model_access_denied', doc: "The model is not in the `models` of the key's user (a key of no team)." },
  org_model_access_denied: { status: 403, type: 'org_model_access_denied', doc: "The model is not in the `models` of the key's organization." },
  blocked_customer: { status: 400, type: 'invalid_request_error', doc: 'The customer the request names (`user`, or a customer header) is blocked (`/customer/block`).' },
  admin_only: { status: 403, type: 'auth_error', doc: "The caller's role does not allow this management call, on this entity (see Roles and permissions)." },
  cross_site: { status: 403, type: 'auth_error', doc: "A dashboard call from another site, or without its session's CSRF token." },
  route_not_allowed: { status: 403, type: 'auth_error', doc: "The route is outside the key's `allowed_routes` (or its `key_type`)." },
  already_exists: { status: 409, type: 'bad_request_error', doc: 'A user with this `user_id` or `user_email` exists already.' },
  unknown_model: { status: 400, type: 'bad_request_error', doc: 'No model group of that name; `GET /v1/models` lists them.' },
  bad_request: { status: 400, type: 'bad_request_error', doc: 'Malformed JSON, a missing or mistyped field; `param` names the field.' },
  not_found: { status: 404, type: 'not_found_error', doc: 'Unknown route or method, or an unknown key, user, team, organization, customer or budget in a management call.' },
  body_too_large: { status: 413, type: 'bad_request_error', doc: 'The body is over `general_settings.max_request_size_mb`.' },
  headers_too_large: { status: 431, type: 'bad_request_error', doc: "The request's headers are over Node's 16 KB limit; the connection is closed." },
  client_timeout: { status: 408, type: 'timeout_error', doc: 'The client sent its headers in more than 10 s, or its whole request in more than 300 s (a slow or silent client); the connection is closed.' },
  unpriced_model: { status: 400, type: 'bad_request_error', doc: 'A key with a budget asked for a model without a known price (see `allow_unpriced_models_with_budget`).' },
  budget_exceeded: { status: 429, type: 'budget_exceeded', doc: 'Spend has reached the budget; sent with `x-should-retry: false`.' },
  rate_limited: { status: 429, type: 'rate_limit_error', doc: 'A rate or concurrency limit is reached; sent with `retry-after`.' },
  upstream_error: { status: 502, type: 'api_error', doc: "The provider answered with an error: its status, message, type and code are kept." },
  content_policy: { status: 400, type: 'invalid_request_error', doc: "The provider's content filter refused the call (Azure's `content_filter`): LiteLLM's `ContentPolicyViolationError`, the filter's results in `provider_specific_fields`." },
  context_window_exceeded: { status: 400, type: 'invalid_request_error', doc: "The prompt does not fit the model's context window (Bedrock's `Input is too long`): LiteLLM's `ContextWindowExceededError`, code `context_length_exceeded`." },
  upstream_unreachable: { status: 502, type: 'api_connection_error', doc: 'The provider could not be reached, or its stream was cut (then as an error event).' },
  upstream_timeout: { status: 408, type: 'timeout_error', doc: 'The provider did not answer within `timeout` / `stream_timeout`.' },
  db_unavailable: { status: 503, type: 'no_db_connection', doc: 'The database is unreachable and the call needed it (a key not in the cache, a management call); see `allow_requests_on_db_unavailable`.' },
  limits_unavailable: { status: 503, type: 'service_unavailable', doc: 'Redis, which keeps the limits and budgets of several instances, is unreachable and `redis_failure_mode` is `closed`; sent with `retry-after`.' },
  internal: { status: 500, type: 'internal_server_error', doc: 'A bug: logged with the request id.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof ERRORS;

export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  /** What the provider said beyond its message (Azure's content filter results), as LiteLLM passes it on. */
  readonly providerFields: Record<string, unknown> | null;

  constructor(
    name: ErrorName,
    message: string,
    opts: { param?: string | null; status?: number; type?: string; code?: string; headers?: Record<string, string>; providerFields?: Record<string, unknown> } = {},
  ) {
    super(message);
    const spec: ErrorSpec = ERRORS[name];
    this.name = name;
    this.status = opts.status ?? spec.status;
    this.type = opts.type ?? spec.type;
    this.code = opts.code ?? String(this.status);
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
    this.providerFields = opts.providerFields ?? null;
  }
}

/** The OpenAI / LiteLLM error envelope. */
export function openaiErrorBody(err: GatewayError): { error: { message: string; type: string; param: string | null; code: string; provider_specific_fields?: Record<string, unknown> } } {
  const error = { message: err.message, type: err.type, param: err.param, code: err.code };
  return { error: err.providerFields ? { ...error, provider_specific_fields: err.providerFields } : error };
}

/** Anthropic's error types, by the HTTP status they come with. */
const TYPES_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const ANTHROPIC_TYPES = new Set(Object.values(TYPES_BY_STATUS));

/** The Anthropic type for an error: the provider's own when it is one, else by status. */
export function anthropicErrorType(err: GatewayError): string {
  if (ANTHROPIC_TYPES.has(err.type)) return err.type;
  return TYPES_BY_STATUS[err.status] ?? (err.status >= 500 ? 'api_error' : 'invalid_request_error');
}

export function anthropicErrorBody(err: GatewayError): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(err), message: err.message } };
}

/** The dialect a client speaks, which decides the envelope of its errors: OpenAI's (also the Responses API's), Anthropic's. */
export type ErrorDialect = 'openai' | 'anthropic' | 'responses';

export function errorBody(dialect: ErrorDialect, err: GatewayError): object {
  return dialect === 'anthropic' ? anthropicErrorBody(err) : openaiErrorBody(err);
}
