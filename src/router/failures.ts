// What a failed attempt means for the rest of the call, in LiteLLM's terms: the error's class (for
// retry_policy and allowed_fails_policy), whether it is retried, and which fallbacks it follows
// (context-window errors their own list, content-policy errors theirs, the rest `fallbacks`, else
// `default_fallbacks`).
import { GatewayError } from '../http/errors.ts';

/** LiteLLM's exception classes, as retry_policy and allowed_fails_policy name them. */
export const ERROR_CLASSES = [
  'BadRequest', 'Authentication', 'Timeout', 'RateLimit', 'ContentPolicyViolation', 'InternalServer', 'ServiceUnavailable', 'NotFound',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number] | 'ContextWindowExceeded' | 'Connection' | 'Other';

/** A count per error class (retry_policy's `RateLimitErrorRetries`, allowed_fails_policy's `...AllowedFails`); `Default` for the rest. */
export type PerClass = Partial<Record<(typeof ERROR_CLASSES)[number] | 'Default', number>>;

/** The class of a failed attempt's error (the most specific first, as LiteLLM walks its exceptions). */
export function classOf(err: GatewayError): ErrorClass {
  if (err.name === 'context_window_exceeded') return 'ContextWindowExceeded';
  if (err.name === 'content_policy') return 'ContentPolicyViolation';
  if (err.name === 'upstream_timeout') return 'Timeout';
  if (err.name === 'upstream_unreachable') return 'Connection';
  switch (err.status) {
    case 400: return 'BadRequest';
    case 401: return 'Authentication';
    case 404: return 'NotFound';
    case 408: return 'Timeout';
    case 429: return 'RateLimit';
    case 503: return 'ServiceUnavailable';
  }
  return err.status >= 500 ? 'InternalServer' : 'Other';
}

/**
 * A policy's count for the class (a context-window error is a bad request there, as in LiteLLM), else
 * null. `Default` stands for the classes without an entry that another try may change (timeouts, rate
 * limits, server errors, unreachable): a client's mistake is retried only by its own entry.
 */
export function forClass(policy: PerClass | null | undefined, c: ErrorClass): number | null {
  if (!policy) return null;
  const key = c === 'ContextWindowExceeded' ? 'BadRequest' : c;
  const n = key === 'Other' || key === 'Connection' ? undefined : policy[key];
  if (n !== undefined) return n;
  return RETRYABLE_CLASSES.has(c) ? (policy.Default ?? null) : null;
}

const RETRYABLE_CLASSES = new Set<ErrorClass>(['Timeout', 'RateLimit', 'InternalServer', 'ServiceUnavailable', 'Connection']);

/** Statuses another try may answer differently: timeouts, conflicts, rate limits and server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * How many retries the call may have spent when this error came for it to be retried once more: the
 * retry_policy's entry for its class (which makes even a 400 retryable, as in LiteLLM), else
 * num_retries for the errors another try may change, else none.
 */
export function retriesFor(err: GatewayError, numRetries: number, policy: PerClass | null): number {
  const own = forClass(policy, classOf(err));
  if (own !== null) return own;
  return retryableStatus(err.status) ? numRetries : 0;
}

/** The fallback lists of the configuration, by group. */
export interface FallbackSettings {
  fallbacks: Record<string, string[]>;
  /** null: not configured (those errors follow `fallbacks`); configured without the group: none. */
  contextWindow: Record<string, string[]> | null;
  contentPolicy: Record<string, string[]> | null;
  /** For a group without an entry in `fallbacks`. */
  defaults: string[];
}

/**
 * The groups to fall back to after `group` failed with `err`: the request's own list when it gave one,
 * else the list for the error's kind (an error of a kind with its own list configured follows that list
 * only: a context-window error is not sent to a model with a smaller window).
 */
export function fallbacksFor(s: FallbackSettings, group: string, err: GatewayError | null, fromRequest: string[] | null): string[] {
  if (fromRequest) return fromRequest;
  const c = err ? classOf(err) : 'Other';
  if (c === 'ContextWindowExceeded' && s.contextWindow) return s.contextWindow[group] ?? [];
  if (c === 'ContentPolicyViolation' && s.contentPolicy) return s.contentPolicy[group] ?? [];
  return s.fallbacks[group] ?? s.defaults;
}

/**
 * A provider's 400 that says the prompt does not fit the model: LiteLLM's ContextWindowExceededError
 * (clients look for that name; context_window_fallbacks follow it). OpenAI says it with a code, the
 * others in words (LiteLLM's exception mapping reads the same phrases).
 */
const CONTEXT_WORDS = /context[_ ]length|context window|maximum context|prompt is too long|input is too long|too many (?:input )?tokens|exceeds the maximum number of tokens|reduce the length of the messages/i;

export function isContextWindowError(status: number, code: string | undefined, message: string): boolean {
  if (status !== 400) return false;
  return code === 'context_length_exceeded' || CONTEXT_WORDS.test(message);
}

/**
 * The request's own fallbacks (`"fallbacks": ["gpt-4o", ...]`, or `[{"model": "gpt-4o"}]`), which take
 * the place of the configured ones for this call; null when it gives none. Per-fallback parameters
 * (LiteLLM's `{"model": ..., "messages": ...}`) are refused, never half applied.
 */
export function requestFallbacks(body: Record<string, unknown>): string[] | null {
  const f = body.fallbacks;
  if (f === undefined || f === null) return null;
  if (!Array.isArray(f)) throw new GatewayError('bad_request', 'fallbacks must be a list of model names.', { param: 'fallbacks' });
  return f.map((item, i) => {
    if (typeof item === 'string' && item !== '') return item;
    if (item && typeof item === 'object' && !Array.isArray(item) && typeof (item as { model?: unknown }).model === 'string') {
      const extra = Object.keys(item).filter((k) => k !== 'model');
      if (extra.length > 0) throw new GatewayError('bad_request', `fallbacks[${i}].${extra[0]}: parameters per fallback are not supported; give the model name only.`, { param: 'fallbacks' });
      return (item as { model: string }).model;
    }
    throw new GatewayError('bad_request', `fallbacks[${i}] must be a model name.`, { param: 'fallbacks' });
  });
}

/** Every group a failure of `group` may fall back to (a reservation must cover the dearest of them). */
export function allFallbacks(s: FallbackSettings, group: string, fromRequest: string[] | null): string[] {
  if (fromRequest) return fromRequest;
  const general = s.fallbacks[group] ?? s.defaults;
  const cw = s.contextWindow?.[group];
  const cp = s.contentPolicy?.[group];
  return cw || cp ? [...new Set([...general, ...(cw ?? []), ...(cp ?? [])])] : general;
}

/** At most `max` of a list (the list itself when it is short enough: no copy on every call). */
export function capped<T>(list: T[], max: number): T[] {
  return list.length <= max ? list : list.slice(0, max);
}
