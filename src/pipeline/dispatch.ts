// Sends the request to a deployment of the model group and returns the first good answer's head.
// Connection errors, timeouts, 429 and 5xx are retried (`num_retries`, or `retry_policy` per error
// class; at once on another deployment of the group when one is up, else after a backoff honouring
// retry-after); then the fallbacks of the failure's kind are followed.
import type { Deployment } from '../config/load.ts';
import { GatewayError } from '../http/errors.ts';
import type { Adapter, CallPlan, Dialect, Endpoint, UpstreamRequest } from '../providers/adapter.ts';
import { ADAPTERS, COMPLETIONS } from '../providers/adapters.ts';
import { bedrockHttpError } from '../providers/bedrock/errors.ts';
import { signAws } from '../providers/bedrock/sign.ts';
import { dispatcherFor, send, type UpstreamResponse } from '../providers/http-client.ts';
import { byTags, upstreamModelFor } from '../router/router.ts';
import { fitting } from '../router/context-window.ts';
import { restAskedMs, retryAfterMs } from '../router/cooldowns.ts';
import { allFallbacks, capped, fallbacksFor, isContextWindowError, retriesFor } from '../router/failures.ts';
import { Abort, pause } from './abort.ts';
import type { Headers, PipelineContext } from './context.ts';
import { tokenSettlement, type Counters, type Routed, type TokenHold } from '../policy/counters.ts';

export interface Attempt {
  deployment: Deployment;
  /** Translates (or passes on) between the client's dialect and this deployment's wire format. */
  adapter: Adapter;
  upstream: UpstreamRequest;
  response: UpstreamResponse;
  /** Ends the attempt's deadline timer (the relay calls it when the answer is complete). */
  done: () => void;
  /** What to report when reading the answer fails: its deadline, a cut connection, or the client's own abort as is. */
  failed: (err: unknown) => unknown;
  /** The tokens the call holds in the deployment's tpm window, if it has one. */
  tokens: DeploymentTokens | null;
  /** How many fallback groups were tried before the one that answered (0: the group asked for). */
  fallbacks: number;
  /** Retries made in the group that answered. */
  retries: number;
  /** performance.now() when the call was sent (a stream's latency is its first byte's time from then). */
  sentAt: number;
}

/** A deployment's tpm window and what a call holds in it, by the counters that hold it. */
export interface DeploymentTokens {
  via: Counters;
  hold: TokenHold;
}

/** Puts the call's real count of tokens in place of what it held in a deployment's window. Never rejects. */
export function settleTokens(t: DeploymentTokens, tokenCount: number): Promise<unknown> | null {
  const r = t.via.settle(tokenSettlement([t.hold], tokenCount, Date.now()));
  // (a Redis failure is owed, and written back by the counters)
  return r instanceof Promise ? r.catch(() => {}) : null;
}

export interface DispatchPlan {
  dialect: Dialect;
  endpoint: Endpoint;
  group: string;
  /** The model asked for, after the key's aliases (a wildcard group needs it). */
  model: string;
  body: Record<string, unknown>;
  raw: Buffer | null;
  stream: boolean;
  headers: Headers;
  dropParams: boolean;
  signal: Abort;
  /** The tokens the call is expected to use (prompt and output): what it holds in a deployment's tpm window. */
  tokens: number;
  /** The deployment the call must go to when it is in the group (the one that keeps its conversation). */
  pin?: string | null;
  /** The call's tags, for tag routing. */
  tags?: readonly string[];
  /** The prompt's estimated tokens (about 4 bytes a token), for pre-call checks. */
  promptTokens?: number;
  /** The request's own deadlines (its `timeout`, `stream_timeout`), when shorter than the deployment's. */
  timeoutMs?: number;
  streamTimeoutMs?: number;
}

const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Google's errors say when to retry in the body (a google.rpc.RetryInfo detail, `"retryDelay": "30s"`),
 * not in a header: as whole seconds for retry-after.
 */
function googleRetryDelay(details: unknown): string | null {
  if (!Array.isArray(details)) return null;
  for (const d of details) {
    const m = typeof d?.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
    if (m) return String(Math.ceil(Number(m[1])));
  }
  return null;
}

/** The provider's error, with its status and message kept. */
async function upstreamError(d: Deployment, res: UpstreamResponse): Promise<GatewayError> {
  const text = await res.body.text().catch(() => '');
  // (AWS names its errors in a header, with a status of their own)
  if (d.aws) return bedrockHttpError(d.modelName, res.statusCode, res.headers, text);
  let message = text.slice(0, 2000) || `status ${res.statusCode}`;
  let type: string | undefined;
  let param: string | null = null;
  let code: string | undefined;
  let inner: unknown;
  let retryDelay: string | null = null;
  try {
    const parsed = JSON.parse(text);
    // (Google's streaming endpoints send their error envelope inside an array)
    const e = (Array.isArray(parsed) ? parsed[0] : parsed)?.error;
    if (e && typeof e === 'object') {
      if (typeof e.message === 'string') message = e.message;
      if (typeof e.type === 'string') type = e.type;
      if (typeof e.param === 'string') param = e.param;
      if (e.code != null) code = String(e.code);
      inner = e.innererror;
      retryDelay = googleRetryDelay(e.details);
    } else if (typeof e === 'string') message = e;
    // (Cohere's and others' plain {"message": ...})
    else if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // not JSON: the text itself is the message
  }
  if (res.statusCode === 400 && (code === 'content_filter' || code === 'content_policy_violation' || (inner as { code?: unknown } | undefined)?.code === 'ResponsibleAIPolicyViolation')) {
    // A content filter's refusal (Azure's, or OpenAI's own), as LiteLLM reports it: clients look for
    // the exception's name in the message; Azure's filter results go along.
    return new GatewayError('content_policy', `litellm.ContentPolicyViolationError: ${d.provider} error (model ${d.modelName}): ${message}`, {
      param,
      providerFields: inner && typeof inner === 'object' ? { innererror: inner } : undefined,
    });
  }
  if (isContextWindowError(res.statusCode, code, message)) {
    return new GatewayError('context_window_exceeded', `litellm.ContextWindowExceededError: ${d.provider} error (model ${d.modelName}): ${message}`, { param, code: code ?? 'context_length_exceeded' });
  }
  const headers: Record<string, string> = {};
  const ra = res.headers['retry-after'];
  if (typeof ra === 'string') headers['retry-after'] = ra;
  else if (retryDelay !== null) headers['retry-after'] = retryDelay;
  return new GatewayError('upstream_error', `${d.provider} error (model ${d.modelName}): ${message}`, {
    status: res.statusCode,
    type: type ?? (res.statusCode === 429 ? 'rate_limit_error' : res.statusCode < 500 ? 'invalid_request_error' : 'api_error'),
    param,
    code: code ?? String(res.statusCode),
    headers,
  });
}

/**
 * LiteLLM's additional_drop_params, of the deployment and of the request: those fields are taken out of
 * the body before it is translated or passed on (then the client's bytes cannot go as they are).
 */
function withoutDropped(call: CallPlan, d: Deployment): void {
  const asked = call.body.additional_drop_params;
  const names = Array.isArray(asked) ? [...d.additionalDropParams, ...asked.filter((n): n is string => typeof n === 'string')] : d.additionalDropParams;
  if (names.length === 0 || !names.some((n) => n in call.body)) return;
  const body = { ...call.body };
  for (const n of names) delete body[n];
  call.body = body;
  call.raw = null;
}

/** Signs a Bedrock call with the deployment's AWS credentials (fetched first when there are none yet). */
async function signFor(d: Deployment, upstream: UpstreamRequest): Promise<void> {
  const signing = d.aws!.signing!;
  try {
    if (signing.credentials.current() === null) await signing.credentials.ready();
  } catch (err) {
    throw new GatewayError('upstream_unreachable', `Could not get AWS credentials for bedrock (model ${d.modelName}, ${signing.credentials.label}): ${(err as Error).message}`);
  }
  await signAws(upstream, signing);
}

async function tokenFor(d: Deployment): Promise<void> {
  try {
    await d.tokens!.ready();
  } catch (err) {
    // The provider was never called: a gateway-side failure to authenticate, retried like an unreachable upstream.
    throw new GatewayError('upstream_unreachable', `Could not get an access token for ${d.provider} (model ${d.modelName}, ${d.tokens!.label}): ${(err as Error).message}`);
  }
}

function connectionError(d: Deployment, err: unknown, timedOut: boolean): GatewayError {
  if (timedOut) {
    return new GatewayError('upstream_timeout', `${d.provider} did not answer in time (model ${d.modelName}).`);
  }
  const code = (err as { code?: string }).code ?? (err as Error).name;
  return new GatewayError('upstream_unreachable', `Could not reach ${d.provider} for model ${d.modelName} (${code}).`);
}

/** Upstream URLs split once each (a deployment has one or two): parsing them cost 1 % of a call. */
const splitUrls = new Map<string, { origin: string; path: string }>();
function originAndPath(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (!split) {
    const u = new URL(url);
    split = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (splitUrls.size < 1000) splitUrls.set(url, split);
  }
  return split;
}

async function attemptOnce(ctx: PipelineContext, d: Deployment, plan: DispatchPlan, capture: string | null): Promise<Attempt> {
  if (plan.endpoint === 'embeddings' && d.wire === 'anthropic') {
    throw new GatewayError('bad_request', `Model ${d.modelName} (${d.provider}) does not serve embeddings.`, { param: 'model' });
  }
  if (plan.endpoint === 'rerank' && d.wire !== 'cohere') {
    throw new GatewayError('bad_request', `Model ${d.modelName} (${d.provider}) does not serve rerank: rerank models are Cohere's (cohere/rerank-v3.5, ...).`, { param: 'model' });
  }
  // A deployment with token credentials has a token ready unless it is cold (its first call waits).
  if (d.tokens && d.tokens.current() === null) await tokenFor(d);
  const adapter = plan.endpoint === 'completions' ? COMPLETIONS[d.wire] : ADAPTERS[plan.dialect][d.wire];
  const call: CallPlan = { endpoint: plan.endpoint, body: plan.body, raw: plan.raw, headers: plan.headers, dropParams: plan.dropParams || d.dropParams };
  withoutDropped(call, d);
  const upstream = adapter.request(call, d, upstreamModelFor(d, capture));
  if (d.aws?.signing) await signFor(d, upstream);
  const abort = new Abort();
  let timedOut = false;
  const unlink = abort.follow(plan.signal);
  // Deadline: the whole answer for plain requests, the first byte for streams (then the idle gap).
  const whole = Math.min(d.timeoutMs, plan.timeoutMs ?? Infinity);
  const limit = plan.stream ? Math.min(d.streamTimeoutMs, plan.streamTimeoutMs ?? Infinity, whole) : whole;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new Error('timeout'));
  }, limit);
  const stats = ctx.router.stats;
  const sentAt = performance.now();
  stats?.begin(d.id);
  let ended = false;
  const done = () => {
    clearTimeout(timer);
    unlink();
    if (stats && !ended) {
      ended = true;
      stats.end(d.id);
    }
  };
  const failed = (err: unknown): unknown => {
    if (plan.signal.aborted) return err;
    if (timedOut || (err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT') return connectionError(d, err, true);
    const code = (err as { code?: string }).code ?? (err as Error).name;
    return new GatewayError('upstream_unreachable', `The ${d.provider} answer was cut before its end (model ${d.modelName}, ${code}).`);
  };
  try {
    const { origin, path } = originAndPath(upstream.url);
    const response = await send(
      dispatcherFor(origin),
      { origin, path, method: 'POST', headers: upstream.headers, body: upstream.body, headersTimeout: limit, bodyTimeout: limit },
      abort,
    );
    // A stream is answered once its first bytes are here (within stream_timeout): one that fails
    // before them is this attempt's failure, retried or fallen back from, and the client never knows.
    if (plan.stream && response.statusCode < 400) {
      const began = await response.body.arrived().catch((err: unknown) => {
        if (timedOut || plan.signal.aborted) throw err;
        throw new GatewayError('upstream_unreachable', `The ${d.provider} stream was cut before its first byte (model ${d.modelName}).`);
      });
      if (!began) throw new GatewayError('upstream_unreachable', `The ${d.provider} stream ended before its first byte (model ${d.modelName}).`);
    }
    if (plan.stream) clearTimeout(timer);
    return { deployment: d, adapter, upstream, response, done, failed, tokens: null, fallbacks: 0, retries: 0, sentAt };
  } catch (err) {
    done();
    if (plan.signal.aborted || err instanceof GatewayError) throw err;
    throw connectionError(d, err, timedOut);
  }
}

export const deploymentScope = (d: Deployment) => `deployment:${d.id}`;

type Picked = { d: Deployment; tokens: DeploymentTokens | null; probe: boolean };

/**
 * The deployment to try: the strategy's pick; among those with their own `rpm` / `tpm`, the first in
 * the strategy's order with room, counted in the counters (every instance's, with Redis): its request,
 * and the call's expected tokens held in its tpm window. None with room: a 429 saying when one will have.
 */
function pickDeployment(ctx: PipelineContext, group: readonly Deployment[], tried: ReadonlySet<string>, expected: number, lastResort: boolean): Picked | Promise<Picked> {
  const deployments = awake(ctx, group, lastResort);
  // (a deployment whose rest is over comes alone: this call probes it)
  const probe = deployments.length === 1 && ctx.cooldowns.any && ctx.cooldowns.isProbe(deployments[0]!.id);
  if (!deployments.some((d) => d.rpm !== null || d.tpm !== null)) return { d: ctx.router.pick(deployments, tried), tokens: null, probe };
  const order = ctx.router.order(deployments, tried);
  const now = Date.now();
  const choices = order.map((d) => ({ scope: deploymentScope(d), rpm: d.rpm, tpm: d.tpm, tokens: d.tpm === null ? 0 : Math.min(expected, d.tpm) }));
  const routed = ctx.counters.route(choices, now);
  const picked = (r: Routed): Picked => {
    if (r.retryAfterMs !== undefined) {
      if (probe) ctx.cooldowns.unprobe(order[0]!.id);
      throw allFull(order, r.retryAfterMs);
    }
    const c = choices[r.index]!;
    return { d: order[r.index]!, tokens: c.tpm === null ? null : { via: r.via, hold: { scope: c.scope, held: c.tokens, at: now } }, probe };
  };
  return routed instanceof Promise ? routed.then(picked) : picked(routed);
}

/** A group with no deployment to call now (all resting, or all at their rpm / tpm): its fallbacks are next. */
class Unavailable extends GatewayError {}

/**
 * The group's deployments not resting. One whose rest is over is probed by this call, alone. None: a
 * 429 saying when the first is back, as LiteLLM answers; but a group of one that is the call's last
 * resort is tried all the same (its own error tells more than a rest would).
 */
function awake(ctx: PipelineContext, group: readonly Deployment[], lastResort: boolean): readonly Deployment[] {
  if (!ctx.cooldowns.any || (group.length === 1 && lastResort)) return group;
  const now = Date.now();
  // A copy only once one is found resting (most calls: none is).
  let up: Deployment[] | null = null;
  for (let i = 0; i < group.length; i++) {
    const d = group[i]!;
    const standing = ctx.cooldowns.standing(d.id, now);
    if (standing === 'probe') {
      ctx.cooldowns.probing(d.id, now);
      return [d];
    }
    if (standing === 'resting' && !up) up = group.slice(0, i) as Deployment[];
    else if (standing === 'up' && up) up.push(d);
  }
  if (!up) return group;
  if (up.length > 0) return up;
  const retry = Math.max(1, Math.ceil((ctx.cooldowns.nextBack(group.map((d) => d.id)) - now) / 1000));
  throw new Unavailable('rate_limited', `No deployments available for model ${group[0]!.modelName}: all are cooling down after failures. Try again in ${retry} s.`, {
    headers: { 'retry-after': String(retry) },
  });
}

/** Every deployment at its rpm / tpm: a 429 saying when one will have room. */
function allFull(order: Deployment[], retryAfterMs: number): GatewayError {
  const retry = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new Unavailable('rate_limited', `Rate limit reached: every deployment of model ${order[0]!.modelName} is at its rpm / tpm. Try again in ${retry} s.`, {
    headers: { 'retry-after': String(retry) },
  });
}

/** Whether another deployment of the group, not tried yet, is up: a retry goes there at once. */
function otherUp(ctx: PipelineContext, group: readonly Deployment[], tried: ReadonlySet<string>): boolean {
  const now = Date.now();
  return group.some((d) => !tried.has(d.id) && ctx.cooldowns.standing(d.id, now) !== 'resting');
}

/** The call's failures so far, for the next attempt's choice and the client's headers. */
export interface Tries {
  /** Retries spent (attempts after the first in a group), in all groups together. */
  retries: number;
  /** Upstream calls made. */
  attempts: number;
  /** Whether the call went on to a fallback group. */
  fellBack: boolean;
}

/** The groups of `names` a call can go to (they exist; with a pin, none: its conversation is kept on one deployment). */
function usable(ctx: PipelineContext, names: readonly string[], pinned: boolean): boolean {
  return !pinned && names.some((n) => ctx.router.resolve(n) !== null);
}

/**
 * The attempts of a call: in its group first, up to 1 + its retries (num_retries, or the retry_policy
 * entry of the error's class, the model group's own policy first); then each group of the fallbacks
 * its first failure chose (context-window and content-policy errors their own lists), once each, with
 * what is left of the retries. Retries are one count for the whole call, so a call makes at most
 * 1 + retries + fallbacks upstream calls, however its failures fall.
 */
export async function dispatch(ctx: PipelineContext, plan: DispatchPlan, numRetries: number, requestFallbacks: string[] | null = null, tries: Tries = { retries: 0, attempts: 0, fellBack: false }): Promise<Attempt> {
  let last: GatewayError | null = null;
  let chain: string[] | null = null;
  const noFallbacks = plan.body.disable_fallbacks === true;
  const policyOf = (group: string) => ctx.config.groupRetryPolicy[group] ?? ctx.config.retryPolicy;
  for (let g = 0; ; g++) {
    if (g === 1) chain = noFallbacks ? [] : capped(fallbacksFor(ctx.config.fallbacks, plan.group, last, requestFallbacks), ctx.config.maxFallbacks);
    const group = g === 0 ? plan.group : chain![g - 1];
    if (group === undefined) break;
    const resolvedAs = ctx.router.resolve(g === 0 ? plan.model : group);
    if (!resolvedAs) continue;
    // (a copy when the filters below may narrow it, for this call only)
    const resolved = plan.pin || ctx.config.tagFiltering || ctx.config.preCallChecks ? { ...resolvedAs } : resolvedAs;
    // A call continuing a conversation a deployment keeps (OpenAI's Responses API) goes there or nowhere.
    if (plan.pin) resolved.deployments = resolved.deployments.filter((d) => d.id === plan.pin);
    if (resolved.deployments.length === 0) continue;
    if (ctx.config.tagFiltering) {
      const tagged = byTags(resolved.deployments, plan.tags ?? []);
      if (!tagged) {
        last = new GatewayError('bad_request', `No deployment of model ${resolved.group} serves this call's tags (${(plan.tags ?? []).join(', ')}), and none is tagged default.`, { param: 'tags' });
        continue;
      }
      resolved.deployments = tagged;
    }
    if (ctx.config.preCallChecks && plan.endpoint !== 'embeddings' && plan.endpoint !== 'rerank') {
      const { fit, tokens } = await fitting(resolved.deployments, plan.body, plan.promptTokens ?? 0);
      if (fit.length === 0) {
        last = new GatewayError('context_window_exceeded', `litellm.ContextWindowExceededError: the prompt (${tokens} tokens) is longer than the context window (max_input_tokens) of every deployment of model ${resolved.group}.`, { param: 'messages', code: 'context_length_exceeded' });
        continue;
      }
      resolved.deployments = fit;
    }
    if (g > 0) tries.fellBack = true;
    // The call's last resort: no fallback group it could go to after this one (worked out only when it
    // matters: a deployment rests, or an attempt failed).
    let lastResortIs: boolean | null = null;
    const lastResort = (): boolean => {
      if (lastResortIs !== null) return lastResortIs;
      const next = g === 0 ? (noFallbacks ? [] : capped(allFallbacks(ctx.config.fallbacks, plan.group, requestFallbacks), ctx.config.maxFallbacks)) : chain!.slice(g);
      return (lastResortIs = !usable(ctx, next, Boolean(plan.pin)));
    };
    const tried = new Set<string>();
    for (let i = 0; ; i++) {
      if (plan.signal.aborted) throw plan.signal.reason;
      let picked: Picked;
      try {
        const p = pickDeployment(ctx, resolved.deployments, tried, plan.tokens, ctx.cooldowns.any && lastResort());
        picked = p instanceof Promise ? await p : p;
      } catch (err) {
        // Nothing to call in this group now: its fallbacks are next (no attempt made, no retry spent).
        if (!(err instanceof Unavailable)) throw err;
        last = err;
        break;
      }
      const { d, tokens } = picked;
      tried.add(d.id);
      let waitMs = Math.min(500 * 2 ** i, 8000) * (0.75 + Math.random() * 0.5);
      // The tokens held in the deployment's window go with the answer, or back when the attempt failed.
      let answered = false;
      let err: GatewayError;
      try {
        tries.attempts++;
        const attempt = await attemptOnce(ctx, d, plan, resolved.capture);
        const status = attempt.response.statusCode;
        if (status < 400) {
          ctx.cooldowns.succeeded(d.id, Date.now());
          attempt.tokens = tokens;
          attempt.fallbacks = g;
          attempt.retries = i;
          answered = true;
          return attempt;
        }
        try {
          err = await upstreamError(d, attempt.response);
        } finally {
          attempt.done();
        }
        if (plan.signal.aborted) throw plan.signal.reason;
        const rest = status === 429 ? restAskedMs(attempt.response.headers, Date.now()) : null;
        ctx.cooldowns.failed(d.id, err, rest, Date.now(), d.cooldownMs);
        // (Google says it in the body: upstreamError put it in the error's headers)
        const ra = retryAfterMs(err.headers);
        // (what the provider asked for, in place of the backoff; more than a minute: no retry here)
        if (ra !== null) waitMs = ra > MAX_RETRY_AFTER_MS ? Infinity : ra;
      } catch (e) {
        if (plan.signal.aborted) {
          // (a probe that will not report: another call may probe)
          if (picked.probe) ctx.cooldowns.unprobe(d.id);
          throw e;
        }
        // A refusal of the gateway's own before any call (a translation that cannot be made) ends it.
        if (!(e instanceof GatewayError) || (e.name !== 'upstream_unreachable' && e.name !== 'upstream_timeout')) {
          if (picked.probe) ctx.cooldowns.unprobe(d.id);
          throw e;
        }
        ctx.cooldowns.failed(d.id, e, null, Date.now(), d.cooldownMs);
        // (a deployment that times out is as slow as its deadline, for latency-based routing; not when the
        // request's own shorter deadline ran out: a client does not make a deployment slow)
        if (e.name === 'upstream_timeout' && plan.timeoutMs === undefined && plan.streamTimeoutMs === undefined) ctx.router.stats?.latency(d.id, plan.stream ? d.streamTimeoutMs : d.timeoutMs);
        err = e;
      } finally {
        if (tokens && !answered) void settleTokens(tokens, 0);
      }
      last = err;
      if (tries.retries >= retriesFor(err, numRetries, policyOf(resolved.group))) break;
      // Another deployment of the group is up: the retry goes there at once. Else the same ones again
      // after a backoff, unless the group now has nothing to call and the call has a fallback to go to.
      const another = otherUp(ctx, resolved.deployments, tried);
      if (!another) {
        if (waitMs === Infinity) break;
        const now = Date.now();
        const anyAwake = resolved.deployments.some((x) => ctx.cooldowns.standing(x.id, now) !== 'resting');
        if (!anyAwake && !(lastResort() && resolved.deployments.length === 1)) break;
      }
      tries.retries++;
      if (!another) await pause(waitMs, plan.signal);
    }
  }
  if (!last && plan.pin) {
    throw new GatewayError('bad_request', `previous_response_id: the response was made by a deployment that is not in model group ${plan.group} (any more): its conversation is kept there.`, { param: 'previous_response_id' });
  }
  throw last ?? new GatewayError('internal', 'No deployment could be tried.');
}
