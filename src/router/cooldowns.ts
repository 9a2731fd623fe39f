// Deployments cooling down, as LiteLLM's router does it: a deployment whose calls fail (5xx, timeouts,
// unreachable) more than `allowed_fails` times in a minute (or its class's entry in
// allowed_fails_policy), or that answers 429, 401 or 404, is left out of its group's picks for
// `cooldown_time` (a 429 until the provider's retry-after or rate-limit reset, if later). Then it is
// half open: one call probes it, the others still go elsewhere; the probe's success brings it back, its
// failure rests it again at once. With Redis, a rest one instance starts holds on all of them.
import { classOf, forClass, type PerClass } from './failures.ts';
import type { GatewayError } from '../http/errors.ts';

/** How long a deployment rests, and after how many failures in a minute. */
export interface CooldownSettings {
  allowedFails: number;
  /** allowed_fails by error class (allowed_fails_policy), in place of allowedFails for that class. */
  allowedFailsPolicy: PerClass | null;
  cooldownMs: number;
  disabled: boolean;
}

/** The longest a provider's retry-after or reset may rest a deployment (a wrong header costs no more). */
const MAX_REST_MS = 10 * 60_000;

/** Where a deployment stands for the next pick: up, resting, or to be probed (its rest is over and no call probes it yet: the next call does). */
export type Standing = 'up' | 'resting' | 'probe';

export class Cooldowns {
  private readonly settings: CooldownSettings;
  /** Until when each cooling deployment rests (epoch ms). */
  private readonly until = new Map<string, number>();
  private readonly fails = new Map<string, { minute: number; n: number }>();
  /** Deployments a call probes now, until when that probe may take before another may probe. */
  private readonly probes = new Map<string, number>();
  /** Tells the other instances (Redis); set once the shared counters are up. */
  share: ((id: string, until: number) => void) | null = null;

  constructor(settings: CooldownSettings) {
    this.settings = settings;
  }

  /** Whether any deployment rests or is being brought back (most calls: none is). */
  get any(): boolean {
    return this.until.size > 0;
  }

  /** Whether the deployment rests now, or is to be probed. */
  standing(id: string, now: number): Standing {
    const u = this.until.get(id);
    if (u === undefined) return 'up';
    if (u > now) return 'resting';
    const probing = this.probes.get(id);
    return probing !== undefined && probing > now ? 'resting' : 'probe';
  }

  /** A call goes to probe the deployment: the others keep away until it reports, or for a rest's length. */
  probing(id: string, now: number): void {
    this.probes.set(id, now + Math.max(this.settings.cooldownMs, 30_000));
  }

  /**
   * A call to the deployment was answered (or refused for the request's own fault: it is alive). A
   * probe's answer brings it back; an answer to a call sent before its rest began leaves the rest be.
   */
  succeeded(id: string, now: number): void {
    if (this.until.size === 0) return;
    const u = this.until.get(id);
    if (u === undefined || u > now) return;
    this.until.delete(id);
    this.probes.delete(id);
  }

  /** Whether a call probes the deployment now. */
  isProbe(id: string): boolean {
    return this.probes.has(id);
  }

  /** A probe that will not report (its call was never made, or the client went away): another may probe. */
  unprobe(id: string): void {
    this.probes.delete(id);
  }

  /** When the first of these deployments is back (epoch ms). */
  nextBack(ids: string[]): number {
    return Math.min(...ids.map((id) => this.until.get(id) ?? 0));
  }

  /**
   * A call to the deployment failed with `err` (the provider's status in it; unreachable and timed out
   * are the gateway's); `restMs` is how long the provider asked to be left alone (retry-after, or its
   * rate limit's reset), if it said; `ownCooldownMs` the deployment's own cooldown_time.
   */
  failed(id: string, err: GatewayError, restMs: number | null, now: number, ownCooldownMs: number | null = null): void {
    if (this.settings.disabled) return;
    const status = err.status;
    // A client's mistake says nothing of the deployment (LiteLLM rests none for a 400 or a 403).
    const counted = err.name === 'upstream_unreachable' || err.name === 'upstream_timeout' || status === 401 || status === 404 || status === 408 || status === 429 || status >= 500;
    // (it answered: alive, whatever the request's fault; a probe's such answer brings it back)
    if (!counted) return this.succeeded(id, now);
    const u = this.until.get(id);
    // (resting already: a last resort still called; its rest stands, announced once)
    if (u !== undefined && u > now) return;
    const probed = u !== undefined && this.probes.has(id);
    const policy = forClass(this.settings.allowedFailsPolicy, classOf(err));
    // 429, 401 and 404 rest it at once (rate limited, a wrong key, a model that is not there), unless
    // allowed_fails_policy gives their class a count; so does a failed probe.
    const atOnce = probed || (policy === null && (status === 429 || status === 401 || status === 404));
    const minute = Math.floor(now / 60_000);
    const f = this.fails.get(id);
    const n = f && f.minute === minute ? f.n + 1 : 1;
    this.fails.set(id, { minute, n });
    if (atOnce || n > (policy ?? this.settings.allowedFails)) {
      this.fails.delete(id);
      this.probes.delete(id);
      this.rest(id, now + Math.max(ownCooldownMs ?? this.settings.cooldownMs, Math.min(restMs ?? 0, MAX_REST_MS)));
    }
  }

  /** Rests a deployment until then, unless cooldowns are off (a background check found it down). */
  restFor(id: string, until: number): void {
    if (!this.settings.disabled) this.rest(id, until);
  }

  /** Rests a deployment until then (here, and on the other instances unless it came from one). */
  rest(id: string, until: number, fromPeer = false): void {
    if (until <= (this.until.get(id) ?? 0)) return;
    this.until.set(id, until);
    if (!fromPeer) this.share?.(id, until);
  }
}

/** Go's durations, as OpenAI writes its rate-limit resets: "1s", "6m0s", "20ms", "1h2m3.5s". */
function goDurationMs(v: string): number | null {
  let total = 0;
  let matched = '';
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    matched += m[0];
  }
  return matched !== '' && matched === v.trim() ? total : null;
}

type HeaderBag = Record<string, string | string[] | undefined>;
const one = (h: HeaderBag, name: string) => {
  const v = h[name];
  return typeof v === 'string' ? v : undefined;
};

/** `retry-after`, in seconds or as a date, as milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(h: HeaderBag, now = Date.now()): number | null {
  const v = one(h, 'retry-after');
  if (v === undefined) return null;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * How long a provider that answered 429 asks to be left alone: `retry-after` (seconds or a date,
 * `retry-after-ms` too), else the reset of the limit it has run out of: OpenAI's
 * `x-ratelimit-reset-requests` / `-tokens` (Go durations) where `x-ratelimit-remaining-*` is 0,
 * Anthropic's `anthropic-ratelimit-*-reset` (RFC 3339 times) where `...-remaining` is 0.
 */
export function restAskedMs(h: HeaderBag, now: number): number | null {
  const ms = one(h, 'retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = retryAfterMs(h, now);
  if (ra !== null) return ra;
  let rest: number | null = null;
  for (const dim of ['requests', 'tokens']) {
    if (one(h, `x-ratelimit-remaining-${dim}`) !== '0') continue;
    const reset = one(h, `x-ratelimit-reset-${dim}`);
    const d = reset === undefined ? null : goDurationMs(reset);
    if (d !== null) rest = Math.max(rest ?? 0, d);
  }
  for (const dim of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    if (one(h, `anthropic-ratelimit-${dim}-remaining`) !== '0') continue;
    const at = Date.parse(one(h, `anthropic-ratelimit-${dim}-reset`) ?? '');
    if (!Number.isNaN(at)) rest = Math.max(rest ?? 0, at - now);
  }
  return rest === null ? null : Math.max(0, rest);
}
