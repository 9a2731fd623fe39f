// May this principal make this call now? Model access, then the key's limits and budget. Checks that
// consume nothing come first and everything taken is given back when a later check refuses, so a
// refused request consumes no quota. The Lease records what was taken; settle gives it back.
import type { Principal } from '../auth/principal.ts';
import type { Deployment } from '../config/load.ts';
import { GatewayError } from '../http/errors.ts';
import { costNanos } from '../metering/cost.ts';
import { nanosToUsd } from '../metering/money.ts';
import type { Price } from '../metering/prices.ts';
import { EMPTY_USAGE } from '../metering/usage.ts';
import { modelRefusedBy } from '../policy/model-access.ts';
import type { RateWindow } from '../policy/limiter.ts';
import type { PipelineContext } from './context.ts';
import type { LlmRequest } from '../dialects/openai-chat.ts';

const REFUSALS = {
  key: { error: 'model_access_denied', models: (p: KeyPrincipal) => p.key.models },
  team: { error: 'team_model_access_denied', models: (p: KeyPrincipal) => p.team?.models ?? [] },
  user: { error: 'user_model_access_denied', models: (p: KeyPrincipal) => p.user?.models ?? [] },
  org: { error: 'org_model_access_denied', models: (p: KeyPrincipal) => p.org?.models ?? [] },
} as const;

type KeyPrincipal = Extract<Principal, { kind: 'key' }>;

export function admitModel(ctx: PipelineContext, principal: Principal, group: string, requested: string): void {
  if (principal.kind !== 'key') return;
  const refused = modelRefusedBy(principal, group, ctx.accessGroups) && modelRefusedBy(principal, requested, ctx.accessGroups);
  if (!refused) return;
  const r = REFUSALS[refused];
  const owner = refused === 'org' ? 'organization' : refused;
  throw new GatewayError(
    r.error,
    `This ${owner === 'key' ? 'key' : `key's ${owner}`} is not allowed to access model "${requested}". It can access: ${r.models(principal).join(', ') || 'none'}.`,
    { param: 'model' },
  );
}

/** Above this max_tokens, a stream reserves its expected output instead. */
const STREAM_RESERVE_MAX = 4096;
/** A model's maximum output when its model_info does not say. */
const COLD_MAX_OUTPUT = 4096;
/** max_tokens is never lowered under these: thinking budgets depend on it. */
const REASONING_PARAMS = ['reasoning_effort', 'reasoning', 'thinking'];

export interface Lease {
  key: string | null;
  /** Budget reservation held, nano-dollars. */
  reserved: number;
  slot: boolean;
  /** The price used for reservations: the dearest deployment of the group. */
  price: Price;
  promptTokens: number;
  budget: number | null;
}

/** A price no cheaper than any deployment's, so reservations err on the safe side. */
function dearest(ctx: PipelineContext, deployments: Deployment[], model: string): Price {
  let best: Price | null = null;
  for (const d of deployments) {
    const p = ctx.prices.priceFor(d, d.upstreamModel.includes('*') ? model : d.upstreamModel);
    if (!best || p.input + p.output > best.input + best.output) best = p;
  }
  return best!;
}

function rateLimited(what: string, limit: number, w: RateWindow, kind: 'requests' | 'tokens'): GatewayError {
  const retry = Math.max(1, Math.ceil(w.retryAfterMs / 1000));
  return new GatewayError('rate_limited', `Rate limit reached: ${what} (${limit} ${kind} per minute). Try again in ${retry} s.`, {
    headers: {
      'retry-after': String(retry),
      [`x-ratelimit-limit-${kind}`]: String(limit),
      [`x-ratelimit-remaining-${kind}`]: '0',
    },
  });
}

export function admitLimits(ctx: PipelineContext, principal: Principal, call: LlmRequest, group: string, deployments: Deployment[], rawBytes: number, now = Date.now()): Lease {
  const price = dearest(ctx, deployments, call.model);
  // About four bytes of JSON per prompt token: an overestimate, which is the safe side for a reservation.
  const promptTokens = Math.ceil(rawBytes / 4);
  const lease: Lease = { key: null, reserved: 0, slot: false, price, promptTokens, budget: null };
  if (principal.kind !== 'key') return lease;
  const k = principal.key;
  const token = principal.token;
  const lim = ctx.limiter;
  lease.key = token;

  if (k.tpm_limit !== null) {
    const w = lim.checkTokens(token, k.tpm_limit, now);
    if (!w.allowed) throw rateLimited('tpm_limit of this key', k.tpm_limit, w, 'tokens');
  }
  const modelTpm = k.model_tpm_limit?.[group];
  if (modelTpm !== undefined) {
    const w = lim.checkTokens(`${token}:${group}`, modelTpm, now);
    if (!w.allowed) throw rateLimited(`model_tpm_limit of this key for ${group}`, modelTpm, w, 'tokens');
  }
  if (k.max_parallel_requests !== null) {
    if (!lim.acquireSlot(token, k.max_parallel_requests)) {
      throw new GatewayError('rate_limited', `Rate limit reached: max_parallel_requests of this key (${k.max_parallel_requests}) are in flight.`, {
        headers: { 'retry-after': '1' },
      });
    }
    lease.slot = true;
  }
  try {
    if (k.max_budget_nanos !== null) {
      if (price.source === 'none' && !ctx.config.allowUnpricedWithBudget) {
        throw new GatewayError(
          'unpriced_model',
          `Model "${group}" has no known price, so a budget cannot be kept: set its input_cost_per_token / output_cost_per_token, or general_settings.allow_unpriced_models_with_budget.`,
          { param: 'model' },
        );
      }
      const maxTokens = call.body.max_completion_tokens ?? call.body.max_tokens;
      const coldMax = deployments.reduce<number | null>((m, d) => Math.max(m ?? 0, Number(d.modelInfo.max_output_tokens ?? d.modelInfo.max_tokens ?? 0)) || m, null);
      // A plain answer cannot be watched: its max_tokens is reserved. A stream is metered as it flows, so
      // a huge max_tokens (coding agents send 128000) reserves what such answers usually take.
      const given = typeof maxTokens === 'number' && (ctx.config.strictBudgetReservations || !call.stream || maxTokens <= STREAM_RESERVE_MAX) ? maxTokens : null;
      const output = ctx.config.strictBudgetReservations ? (given ?? coldMax ?? COLD_MAX_OUTPUT) : ctx.expectedOutput.tokens(group, given, coldMax);
      let expected = costNanos({ ...EMPTY_USAGE, input: promptTokens, output }, price);
      const spent = k.spend_nanos + lim.pending(token);
      let fits = lim.reserve(token, expected, spent, k.max_budget_nanos);
      if (!fits && ctx.config.lowerMaxTokensToFit && !REASONING_PARAMS.some((p) => p in call.body)) {
        const room = k.max_budget_nanos - spent - lim.reserved(token) - costNanos({ ...EMPTY_USAGE, input: promptTokens }, price);
        const affordable = price.output > 0 ? Math.floor((room * 1000) / price.output) : 0;
        if (affordable >= 1) {
          call.body[typeof call.body.max_completion_tokens === 'number' ? 'max_completion_tokens' : 'max_tokens'] = affordable;
          call.rewritten = true;
          expected = costNanos({ ...EMPTY_USAGE, input: promptTokens, output: affordable }, price);
          fits = lim.reserve(token, expected, spent, k.max_budget_nanos);
        }
      }
      if (!fits) {
        throw new GatewayError(
          'budget_exceeded',
          `Budget has been exceeded! Current cost: ${nanosToUsd(spent)}, Max budget: ${nanosToUsd(k.max_budget_nanos)} (in flight: ${nanosToUsd(lim.reserved(token))}).`,
        );
      }
      lease.reserved = expected;
      lease.budget = k.max_budget_nanos;
    }
    for (const [scope, limit] of [
      [token, k.rpm_limit],
      [`${token}:${group}`, k.model_rpm_limit?.[group] ?? null],
    ] as const) {
      if (limit === null) continue;
      const w = lim.hitRequests(scope, limit, now);
      if (!w.allowed) throw rateLimited(scope === token ? 'rpm_limit of this key' : `model_rpm_limit of this key for ${group}`, limit, w, 'requests');
    }
  } catch (err) {
    release(ctx, lease);
    throw err;
  }
  return lease;
}

/** Grows the reservation of a stream to cover `nanos` in all; false when the budget cannot pay. */
export function extendLease(ctx: PipelineContext, principal: Principal, lease: Lease, nanos: number): boolean {
  if (lease.key === null || lease.budget === null || nanos <= lease.reserved || principal.kind !== 'key') return true;
  // Reserve ahead in steps, so the check runs once per step, not once per chunk.
  const step = Math.max(nanos - lease.reserved, Math.ceil(lease.reserved / 4), 1);
  const spent = principal.key.spend_nanos + ctx.limiter.pending(lease.key);
  const want = Math.min(step, lease.budget);
  if (ctx.limiter.reserve(lease.key, want, spent, lease.budget)) {
    lease.reserved += want;
    return true;
  }
  const exact = nanos - lease.reserved;
  if (ctx.limiter.reserve(lease.key, exact, spent, lease.budget)) {
    lease.reserved += exact;
    return true;
  }
  return false;
}

export function release(ctx: PipelineContext, lease: Lease): void {
  if (lease.key === null) return;
  if (lease.reserved) ctx.limiter.release(lease.key, lease.reserved);
  lease.reserved = 0;
  if (lease.slot) ctx.limiter.releaseSlot(lease.key);
  lease.slot = false;
}
