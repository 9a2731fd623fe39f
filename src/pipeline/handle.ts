// An LLM call in either dialect (OpenAI chat and embeddings, Anthropic messages), read top to bottom:
// authenticate, parse, admit, route, dispatch, relay, settle. Every exit (success, upstream error,
// timeout, client disconnect) goes through settle once; errors answer in the client's dialect.
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import { GatewayError } from '../http/errors.ts';
import { asGatewayError, sendError } from '../http/respond.ts';
import { writeSseError } from '../http/sse.ts';
import { costNanos } from '../metering/cost.ts';
import { CHARS_PER_TOKEN } from '../metering/estimate.ts';
import { nanosToUsd } from '../metering/money.ts';
import { EMPTY_USAGE } from '../metering/usage.ts';
import { customerOf } from '../policy/customers.ts';
import { tagsOf } from '../policy/tags.ts';
import { resolveAlias } from '../policy/model-access.ts';
import { parseMessages } from '../dialects/anthropic-messages.ts';
import { parseRerank } from '../dialects/rerank.ts';
import { parseResponses } from '../dialects/responses.ts';
import { parseCompletions } from '../dialects/completions.ts';
import { keepResponse, resolveTurn } from './responses-state.ts';
import { EVENT_STREAM_TYPE, type Dialect, type Endpoint } from '../providers/adapter.ts';
import { upstreamModelFor } from '../router/router.ts';
import { admitLimits, admitModel, extendLease, type Lease } from './admit.ts';
import { authenticate } from './authenticate.ts';
import { checkKeyRoute } from '../auth/routes.ts';
import { Abort } from './abort.ts';
import type { Headers, PipelineContext } from './context.ts';
import { dispatch, type Tries } from './dispatch.ts';
import { allFallbacks, capped, requestFallbacks } from '../router/failures.ts';
import type { Deployment } from '../config/load.ts';
import { parseChat, parseEmbeddings, type LlmRequest } from '../dialects/openai-chat.ts';
import { providerHeaders, readWhole, relayStream } from './relay.ts';
import { settle, type Outcome } from './settle.ts';

export interface Inbound {
  id: string;
  headers: Headers;
  body: Buffer | undefined;
  /** performance.now() when the handler started. */
  startedAt: number;
}

const MAX_CLIENT_RETRIES = 10;
/** A stream longer than this is not kept in the response cache (it is held in memory until its end). */
const MAX_CACHED_STREAM = 4 * 1024 * 1024;

/** What the client called: its dialect and endpoint. */
export interface Route {
  dialect: Dialect;
  endpoint: Endpoint;
  /** The route's path, as a key's allowed_routes name it. */
  path: string;
}

const PARSERS: Record<Endpoint, (raw: Buffer | undefined) => LlmRequest> = {
  'chat/completions': parseChat,
  embeddings: parseEmbeddings,
  messages: parseMessages,
  rerank: parseRerank,
  responses: parseResponses,
  completions: parseCompletions,
};

const CALL_TYPES: Record<Endpoint, Outcome['callType']> = {
  'chat/completions': 'chat',
  embeddings: 'embeddings',
  messages: 'anthropic_messages',
  rerank: 'rerank',
  responses: 'responses',
  completions: 'text_completion',
};

function keySpendHeader(ctx: PipelineContext, p: Principal): Record<string, string> {
  if (p.kind !== 'key') return {};
  return { 'x-litellm-key-spend': String(nanosToUsd(p.key.spend_nanos + ctx.limiter.pending(p.token))) };
}

/**
 * The deployments of the groups a failure of `group` may fall back to (null: none). The request's own
 * fallbacks must be models the key may call, each by its name there.
 */
function fallbackDeployments(ctx: PipelineContext, principal: Principal, group: string, asked: string[] | null): Deployment[] | null {
  const names = capped(allFallbacks(ctx.config.fallbacks, group, asked), ctx.config.maxFallbacks);
  if (names.length === 0) return null;
  const out: Deployment[] = [];
  for (const [i, name] of names.entries()) {
    const target = asked ? resolveAlias(principal, name) : name;
    const r = ctx.router.resolve(target);
    if (!r) {
      if (asked) throw new GatewayError('unknown_model', `fallbacks[${i}]: no model group ${name}. Call GET /v1/models to list the models your key can use.`, { param: 'fallbacks' });
      continue;
    }
    if (asked) {
      try {
        admitModel(ctx, principal, r.group, name);
      } catch (err) {
        const e = err as GatewayError;
        throw new GatewayError(e.name as 'model_access_denied', `fallbacks[${i}]: ${e.message}`, { param: 'fallbacks' });
      }
      asked[i] = target;
    }
    out.push(...r.deployments);
  }
  return out;
}

/** A request's own `timeout` / `stream_timeout` (seconds): they may shorten the deployment's, never lengthen them. */
function requestTimeouts(body: Record<string, unknown>): { timeoutMs?: number; streamTimeoutMs?: number } {
  const out: { timeoutMs?: number; streamTimeoutMs?: number } = {};
  for (const [field, key] of [['timeout', 'timeoutMs'], ['stream_timeout', 'streamTimeoutMs']] as const) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new GatewayError('bad_request', `${field} must be a number of seconds above 0.`, { param: field });
    out[key] = Math.ceil(v * 1000);
  }
  return out;
}

export async function handleLlm(ctx: PipelineContext, route: Route, req: Inbound, res: ServerResponse): Promise<void> {
  const { dialect, endpoint } = route;
  const base: Record<string, string> = { 'x-litellm-call-id': req.id };
  const abort = new Abort();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);

  let principal: Principal;
  try {
    principal = await authenticate(ctx, req.headers);
    if (principal.kind === 'key' && principal.key.allowed_routes !== null) checkKeyRoute(principal.key, route.path);
  } catch (err) {
    // Failed authentication costs no record and no database write.
    sendError(res, asGatewayError(err), base, dialect);
    res.off('close', onClose);
    return;
  }

  const outcome: Outcome = {
    id: req.id,
    principal,
    call: null,
    customer: null,
    tags: [],
    callType: CALL_TYPES[endpoint],
    group: '',
    deployment: null,
    deploymentTokens: null,
    upstreamModel: null,
    upstreamId: null,
    usage: null,
    outputChars: 0,
    error: null,
    httpStatus: 200,
    startedAt: req.startedAt,
    startedWall: Date.now(),
    firstByteAt: null,
  };
  let lease: Lease | null = null;
  const tries: Tries = { retries: 0, attempts: 0, fellBack: false };
  let streaming = false;
  let settled = false;
  const settleOnce = () => {
    if (settled) return Promise.resolve(0);
    settled = true;
    return settle(ctx, outcome, lease);
  };

  try {
    const call = PARSERS[endpoint](req.body);
    outcome.call = call;
    const customer = customerOf(req.headers, call.body);
    outcome.customer = customer;
    ctx.customers.check(customer);
    outcome.tags = tagsOf(req.headers, call.body, principal.kind === 'key' ? principal.key : null, principal.kind === 'key' ? principal.team : null);
    const group = resolveAlias(principal, call.model);
    outcome.group = group;
    const resolved = ctx.router.resolve(group);
    if (!resolved) {
      throw new GatewayError('unknown_model', `Invalid model name passed in model=${call.model}. Call GET /v1/models to list the models your key can use.`, {
        param: 'model',
      });
    }
    outcome.group = resolved.group;
    admitModel(ctx, principal, resolved.group, call.model);
    const asked = requestFallbacks(call.body);
    // (the reservation covers the dearest deployment the call may end up at)
    const reachable = call.body.disable_fallbacks === true ? null : fallbackDeployments(ctx, principal, resolved.group, asked);
    // (the Responses API: the previous response's conversation, before anything is reserved for it)
    const turn = endpoint === 'responses' ? await resolveTurn(ctx, principal, call) : null;
    // (the estimate is of bytes, about four a token: a conversation OpenAI keeps counts as its tokens so far)
    const bytes = (call.rewritten && turn ? Buffer.byteLength(JSON.stringify(call.body)) : req.body!.length) + 4 * (turn?.priorTokens ?? 0);
    lease = await admitLimits(ctx, principal, call, resolved.group, reachable ? [...resolved.deployments, ...reachable] : resolved.deployments, bytes, customer, outcome.tags);

    // The response cache: a hit answers now, at no provider cost (its call counted in the rate limits, no
    // budget spent unless count_hits_in_budgets; a key over its budget was refused above, as in LiteLLM).
    const cache = ctx.cache && ctx.cache.covers(endpoint) ? ctx.cache : null;
    const controls = cache ? cache.controls(call.body, principal) : null;
    const cacheKey = cache && (controls!.lookup || controls!.store) ? cache.keyFor(principal, resolved.group, resolved.capture, endpoint, call.body, req.headers, ctx.config.tagFiltering ? outcome.tags : null, controls!.namespace) : null;
    if (cacheKey) {
      const hit = controls!.lookup ? await cache!.get(cacheKey, controls!.maxAgeMs) : null;
      if (hit && hit.stream === call.stream) {
        // (LiteLLM's sign of a hit: the key it was found under)
        base['x-litellm-cache-key'] = cacheKey;
        // (billed nothing, unless the operator bills hits what the answer cost when it was made)
        const made = cache!.settings.billHits ? resolved.deployments.find((d) => d.id === hit.deployment) : undefined;
        outcome.cacheHit = { deployment: hit.deployment, costNanos: made ? costNanos(hit.usage, ctx.prices.priceFor(made, hit.model)) : 0 };
        outcome.usage = hit.usage;
        outcome.upstreamModel = hit.model;
        outcome.firstByteAt = performance.now();
        const billed = await settleOnce();
        if (res.destroyed) return;
        res.writeHead(200, {
          ...base,
          'x-litellm-model-group': resolved.group,
          'x-litellm-response-cost': String(nanosToUsd(billed)),
          ...keySpendHeader(ctx, principal),
          'content-type': hit.contentType,
          ...(hit.stream ? { 'cache-control': 'no-cache' } : { 'content-length': hit.body.length }),
        });
        res.end(hit.body);
        return;
      }
    }
    /** Keeps a good answer under the cache key (not when the request said no-store, nor one a fallback group gave). */
    const keep = (body: Buffer, contentType: string, usage: Outcome['usage'], d: Deployment, model: string, fallbacks: number) => {
      if (!cacheKey || !controls!.store || !usage || fallbacks > 0) return;
      cache!.set(cacheKey, { body, contentType, stream: call.stream, usage, model, deployment: d.id, createdAt: Date.now() }, controls!.ttlMs);
    };

    // A client may ask for retries, within reason: each one holds the call's slot and reservation.
    const retries = typeof call.body.num_retries === 'number' ? Math.min(call.body.num_retries, MAX_CLIENT_RETRIES) : ctx.config.numRetries;
    const beforeUpstream = performance.now();
    const attempt = await dispatch(
      ctx,
      {
        dialect,
        endpoint,
        group: resolved.group,
        model: group,
        body: call.body,
        raw: call.rewritten ? null : req.body!,
        stream: call.stream,
        headers: req.headers,
        dropParams: ctx.config.dropParams,
        signal: abort,
        tokens: lease.expectedTokens,
        pin: turn?.pin ?? null,
        tags: outcome.tags,
        promptTokens: lease.promptTokens,
        ...requestTimeouts(call.body),
      },
      retries,
      asked,
      tries,
    );
    const upstreamAt = performance.now();
    outcome.deployment = attempt.deployment;
    outcome.deploymentTokens = attempt.tokens;
    outcome.upstreamModel = upstreamModelFor(attempt.deployment, resolved.capture);
    const preMs = beforeUpstream - req.startedAt;
    const headers: Record<string, string> = {
      ...providerHeaders(attempt.response.headers),
      ...base,
      'x-litellm-model-id': attempt.deployment.id,
      // The group that answered: after a fallback, not the one asked for.
      'x-litellm-model-group': attempt.deployment.modelName,
      'x-litellm-model-api-base': attempt.deployment.publicApiBase,
      'x-litellm-attempted-retries': String(attempt.retries),
      'x-litellm-attempted-fallbacks': String(attempt.fallbacks),
    };
    const type = attempt.response.headers['content-type'];
    if (call.stream && typeof type === 'string' && (type.startsWith('text/event-stream') || type.startsWith(EVENT_STREAM_TYPE))) {
      streaming = true;
      const activeLease = lease;
      headers['x-litellm-overhead-duration-ms'] = (preMs + performance.now() - upstreamAt).toFixed(3);
      Object.assign(headers, keySpendHeader(ctx, principal));
      // One usage for the whole stream, its output updated on each chunk (this runs for every chunk).
      const sofar = { ...EMPTY_USAGE, input: activeLease.promptTokens };
      // (a stream to keep in the cache: what the client is sent, up to a bound)
      const kept: Buffer[] | null = cacheKey && controls!.store ? [] : null;
      let keptBytes = 0;
      const result = await relayStream(attempt, res, headers, dialect, {
        tap: kept
          ? (chunk) => {
              if (keptBytes > MAX_CACHED_STREAM) return;
              const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              keptBytes += b.length;
              // (too long to keep: what was held goes now, not at the stream's end)
              if (keptBytes > MAX_CACHED_STREAM) kept.length = 0;
              else kept.push(b);
            }
          : undefined,
        onOutput: (chars) => {
          // (nothing to extend without a key budget: the cost is not worked out on every chunk then)
          if (activeLease.holds.length === 0) return true;
          sofar.output = Math.ceil(chars / CHARS_PER_TOKEN);
          return extendLease(activeLease, costNanos(sofar, activeLease.price));
        },
        beforeEnd: (r) => {
          outcome.usage = r.usage;
          outcome.upstreamId = r.upstreamId;
          outcome.outputChars = r.outputChars;
          outcome.firstByteAt = r.firstByteAt;
          // (a stream's latency, for latency-based routing: its first byte)
          if (r.firstByteAt !== null && !r.error) ctx.router.stats?.latency(attempt.deployment.id, r.firstByteAt - attempt.sentAt);
          if (r.error) {
            outcome.error = r.error;
            outcome.httpStatus = r.error.status;
          }
          // The record reaches the journal before the answer's last bytes; a response is kept before
          // them too (in memory, written in a moment): a client sends its next turn as soon as it has them.
          if (turn && !r.error) keepResponse(ctx, principal, call, resolved.group, attempt.deployment, turn, r.response);
          return settleOnce();
        },
      });
      if (kept && !result.error && keptBytes <= MAX_CACHED_STREAM && !res.destroyed) keep(Buffer.concat(kept), 'text/event-stream; charset=utf-8', result.usage, attempt.deployment, outcome.upstreamModel!, attempt.fallbacks);
      return;
    }
    const answer = await readWhole(attempt);
    outcome.firstByteAt = answer.arrivedAt;
    ctx.router.stats?.latency(attempt.deployment.id, answer.arrivedAt - attempt.sentAt);
    const translated = attempt.adapter.answer(answer.body, attempt.upstream, attempt.response.headers);
    outcome.usage = translated.usage;
    outcome.upstreamId = translated.upstreamId;
    // (a 200 whose answer a filter withheld: an error to the client, its usage still recorded)
    if (translated.error) throw translated.error;
    const cost = await settleOnce();
    if (turn) keepResponse(ctx, principal, call, resolved.group, attempt.deployment, turn, translated.response);
    if (res.destroyed) return;
    res.writeHead(attempt.response.statusCode, {
      ...headers,
      ...keySpendHeader(ctx, principal),
      'x-litellm-response-cost': String(nanosToUsd(cost)),
      'x-litellm-overhead-duration-ms': (preMs + performance.now() - answer.arrivedAt).toFixed(3),
      'content-type': translated.body === answer.body && typeof type === 'string' ? type : 'application/json',
      'content-length': Buffer.byteLength(translated.body),
    });
    res.end(translated.body);
    if (attempt.response.statusCode < 400) keep(Buffer.isBuffer(translated.body) ? translated.body : Buffer.from(translated.body), translated.body === answer.body && typeof type === 'string' ? type : 'application/json', translated.usage, attempt.deployment, outcome.upstreamModel!, attempt.fallbacks);
  } catch (err) {
    const gerr = asGatewayError(err);
    if (gerr.name === 'internal') ctx.log.error({ err, requestId: req.id }, 'request failed');
    const disconnected = abort.aborted && res.destroyed;
    outcome.error = disconnected ? new GatewayError('bad_request', 'Client disconnected.', { status: 499, type: 'client_disconnected' }) : gerr;
    outcome.httpStatus = outcome.error.status;
    await settleOnce();
    if (disconnected) return;
    // The gateway retried or fell back already: the client's SDK is asked not to multiply its attempts.
    if (tries.attempts > 1 || tries.fellBack) base['x-should-retry'] = 'false';
    if (streaming || res.headersSent) writeSseError(res, gerr, dialect);
    else sendError(res, gerr, base, dialect);
  } finally {
    if (!settled) await settleOnce();
    res.off('close', onClose);
  }
}
