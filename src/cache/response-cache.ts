// The response cache (litellm_settings.cache, cache_params): an exact-match cache of answers, keyed by
// the model group, the route and every part of the request that changes the answer (JSON with its
// keys sorted, the gateway's own fields left out), within a scope: by default a team's answers are its
// own (a key of no team has its own), so one team's cached answers are never served to another (LiteLLM
// shares them between all). A request steers it as in LiteLLM: `cache: {"no-cache": true}` (not looked
// up, still kept), `"no-store"` (not kept), `"ttl": S` (kept this long), `"s-maxage": S` (only an answer
// younger than that), `"namespace"`; with mode default_off, only calls that say `"use-cache": true`. A
// key's allowed_cache_controls limits which of these its calls may use (403 otherwise). A hit says its
// key in x-litellm-cache-key. The store failing is a miss, never a failed call.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.ts';
import { GatewayError } from '../http/errors.ts';
import type { Endpoint } from '../providers/adapter.ts';
import type { Headers } from '../pipeline/context.ts';
import { GATEWAY_FIELDS } from '../providers/openai/request.ts';
import type { CachedAnswer, CacheStore } from './store.ts';

/** LiteLLM's call types, by the routes they are: supported_call_types names them. */
const CALL_TYPES: Partial<Record<Endpoint, string[]>> = {
  'chat/completions': ['completion', 'acompletion'],
  embeddings: ['embedding', 'aembedding'],
  completions: ['text_completion', 'atext_completion'],
  rerank: ['rerank', 'arerank'],
  messages: ['anthropic_messages'],
};

/** LiteLLM's default supported_call_types (the Anthropic route is cached when named). */
export const DEFAULT_CALL_TYPES = ['completion', 'acompletion', 'embedding', 'aembedding', 'text_completion', 'atext_completion', 'rerank', 'arerank'];

export interface CacheSettings {
  type: 'local' | 'redis';
  /** Kept this long unless a request says (ms). */
  ttlMs: number;
  namespace: string | null;
  callTypes: string[];
  /** default_off: only calls asking for it (`cache: {"use-cache": true}`). */
  mode: 'default_on' | 'default_off';
  /** The in-process cache's bound. */
  maxBytes: number;
  /** Whose answers a hit may be: the caller's team (else its key), its key, or anyone's. */
  scope: 'team' | 'key' | 'global';
  /** A hit is billed what its answer cost (cache_params.count_hits_in_budgets), else nothing. */
  billHits: boolean;
  /** Redis (type redis): cache_params' host, port, password, else the gateway's Redis. */
  redisUrl: string | null;
}

/** The controls a request may give, as LiteLLM names them. */
export const CONTROLS = ['no-cache', 'no-store', 'ttl', 's-maxage', 's-max-age', 'use-cache', 'namespace'] as const;

export interface CacheControls {
  lookup: boolean;
  store: boolean;
  ttlMs: number | null;
  maxAgeMs: number | null;
  namespace: string | null;
}

/** Fields that change nothing in the answer: the gateway's own, and the cache's (`user` stays: as in LiteLLM, end users' answers are apart). */
const IGNORED = new Set([...GATEWAY_FIELDS, 'cache']);

/** Client headers a provider is sent (they change its answer: a beta, a version, a project). */
const FORWARDED = ['anthropic-beta', 'anthropic-version', 'openai-beta', 'openai-organization', 'openai-project'];

/** JSON with object keys sorted, so that key order does not change the cache key. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export class ResponseCache {
  readonly settings: CacheSettings;
  readonly store: CacheStore;
  private readonly log: Logger;

  constructor(settings: CacheSettings, store: CacheStore, log: Logger) {
    this.settings = settings;
    this.store = store;
    this.log = log;
  }

  /** Whether calls of this route are cached at all. */
  covers(endpoint: Endpoint): boolean {
    return (CALL_TYPES[endpoint] ?? []).some((t) => this.settings.callTypes.includes(t));
  }

  /** The request's cache controls, checked against the key's allowed_cache_controls. */
  controls(body: Record<string, unknown>, principal: Principal): CacheControls {
    const c = body.cache;
    const out: CacheControls = { lookup: this.settings.mode === 'default_on', store: this.settings.mode === 'default_on', ttlMs: null, maxAgeMs: null, namespace: null };
    if (c === undefined || c === null) return out;
    if (typeof c !== 'object' || Array.isArray(c)) throw new GatewayError('bad_request', 'cache must be an object of cache controls (no-cache, no-store, ttl, s-maxage).', { param: 'cache' });
    const given = c as Record<string, unknown>;
    const raw = principal.kind === 'key' ? (principal.key.extra?.allowed_cache_controls as unknown) : undefined;
    // (a value that is not a list allows nothing: never read as no limit)
    const allowed = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [null];
    for (const name of Object.keys(given)) {
      if (!(CONTROLS as readonly string[]).includes(name)) continue;
      if (allowed.length > 0 && !allowed.includes(name)) {
        // (LiteLLM's words)
        throw new GatewayError('route_not_allowed', `Not allowed to set ${name} as a cache control. Contact admin to change permissions.`, { param: 'cache' });
      }
    }
    const seconds = (name: string): number | null => {
      const v = given[name];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new GatewayError('bad_request', `cache.${name} must be a number of seconds, 0 or more.`, { param: 'cache' });
      return v * 1000;
    };
    const flag = (name: string): boolean => {
      const v = given[name];
      if (v === undefined || v === null) return false;
      if (typeof v !== 'boolean') throw new GatewayError('bad_request', `cache.${name} must be true or false.`, { param: 'cache' });
      return v;
    };
    if (flag('use-cache')) out.lookup = out.store = true;
    if (flag('no-cache')) out.lookup = false;
    if (flag('no-store')) out.store = false;
    out.ttlMs = seconds('ttl');
    out.maxAgeMs = seconds('s-maxage') ?? seconds('s-max-age');
    if (given.namespace !== undefined && given.namespace !== null) {
      if (typeof given.namespace !== 'string' || given.namespace === '') throw new GatewayError('bad_request', 'cache.namespace must be a string.', { param: 'cache' });
      out.namespace = given.namespace;
    }
    return out;
  }

  /**
   * The cache key: the scope, the group (and what a wildcard's `*` matched), the route, the request's
   * answer-changing parts, the client headers passed on to the provider (betas, versions, project) and
   * the tags that route the call, hashed.
   */
  keyFor(principal: Principal, group: string, capture: string | null, endpoint: Endpoint, body: Record<string, unknown>, headers: Headers, routingTags: readonly string[] | null, namespace: string | null): string {
    const scope =
      this.settings.scope === 'global' ? '' : principal.kind !== 'key' ? 'master' : this.settings.scope === 'team' && principal.key.team_id ? `team:${principal.key.team_id}` : `key:${principal.token}`;
    const parts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) if (!IGNORED.has(k) && k !== 'model') parts[k] = v;
    const sent: Record<string, unknown> = {};
    for (const h of FORWARDED) if (headers[h] !== undefined) sent[h] = headers[h];
    const hash = createHash('sha256').update(canonical({ scope, group, capture, endpoint, parts, sent, tags: routingTags })).digest('hex');
    const ns = namespace ?? this.settings.namespace;
    return ns ? `${ns}:${hash}` : hash;
  }

  /** A cached answer for the key, young enough; null on a miss (and when the store fails). */
  async get(key: string, maxAgeMs: number | null): Promise<CachedAnswer | null> {
    try {
      const hit = await this.store.get(key);
      if (!hit) return null;
      if (maxAgeMs !== null && Date.now() - hit.createdAt > maxAgeMs) return null;
      return hit;
    } catch (err) {
      this.log.warn({ err }, 'the response cache could not be read: a miss');
      return null;
    }
  }

  /** Keeps an answer (in the background: the caller does not wait for it). */
  set(key: string, answer: CachedAnswer, ttlMs: number | null): void {
    const ttl = ttlMs ?? this.settings.ttlMs;
    if (ttl <= 0) return;
    this.store.set(key, answer, ttl).catch((err: Error) => this.log.warn({ err }, 'an answer could not be kept in the response cache'));
  }
}
