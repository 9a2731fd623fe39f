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

/** A budget a call is held against: its live counter's scope, its limit, and what it has spent. */
export interface Hold {
  scope: string;
  limit: number;
  /** Recorded spend plus spend not yet written (read at each step: streams extend as they go). */
  spent: () => number;
  /** The refusal, naming the budget: which level, its limit, its reset. */
  refusal: (spent: number, inFlight: number) => GatewayError;
}

export interface Lease {
  /** Reservation held, nano-dollars: the same amount against each of `holds`. */
  reserved: number;
  /** The concurrency slots held (max_parallel_requests), by scope. */
  slots: string[];
  /** The token windows the call's usage counts in when it ends (tpm limits), by scope. */
  tokens: string[];
  /** The price used for reservations: the dearest deployment of the group. */
  price: Price;
  promptTokens: number;
  /** Every budget that applies to the call (none: nothing is reserved or metered on the way). */
  holds: Hold[];
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

/** One level's rate limits: the key's, the key's for one model, its team's, its user's. */
interface Limits {
  scope: string;
  /** The key's own (its windows always count its tokens: x-ratelimit headers, /key/info). */
  own: boolean;
  /** How the refusal names the limit: `${prefix}rpm_limit of ${of}`. */
  prefix: '' | 'model_';
  of: string;
  rpm: number | null;
  tpm: number | null;
  parallel: number | null;
}

/** The levels whose limits a key's call counts against (a user's limits hold all their keys). */
function limitsOf(principal: KeyPrincipal, group: string): Limits[] {
  const { key: k, token, team, user } = principal;
  const out: Limits[] = [{ scope: token, own: true, prefix: '', of: 'this key', rpm: k.rpm_limit, tpm: k.tpm_limit, parallel: k.max_parallel_requests }];
  const modelRpm = k.model_rpm_limit?.[group] ?? null;
  const modelTpm = k.model_tpm_limit?.[group] ?? null;
  out.push({ scope: `${token}:${group}`, own: true, prefix: 'model_', of: `this key for ${group}`, rpm: modelRpm, tpm: modelTpm, parallel: null });
  if (team) out.push({ scope: `team:${team.team_id}`, own: false, prefix: '', of: `team ${team.team_id}`, rpm: team.rpm_limit, tpm: team.tpm_limit, parallel: team.max_parallel_requests });
  if (user) out.push({ scope: `user:${user.user_id}`, own: false, prefix: '', of: `user ${user.user_id}`, rpm: user.rpm_limit, tpm: user.tpm_limit, parallel: user.max_parallel_requests });
  return out;
}

/** `customer`: whom the call is made for (the request's `user`, ...), whose budget holds it too. */
export function admitLimits(
  ctx: PipelineContext,
  principal: Principal,
  call: LlmRequest,
  group: string,
  deployments: Deployment[],
  rawBytes: number,
  customer: string | null = null,
  now = Date.now(),
): Lease {
  const price = dearest(ctx, deployments, call.model);
  // About four bytes of JSON per prompt token: an overestimate, which is the safe side for a reservation.
  const promptTokens = Math.ceil(rawBytes / 4);
  const lease: Lease = { reserved: 0, slots: [], tokens: [], price, promptTokens, holds: [] };
  if (principal.kind !== 'key') return lease;
  const lim = ctx.limiter;
  const levels = limitsOf(principal, group);
  // A team's or user's token window is kept only when it has a tpm limit.
  lease.tokens = levels.filter((l) => l.own || l.tpm !== null).map((l) => l.scope);

  // Checks that take nothing first; then slots, the budgets, and the request windows, all or none.
  for (const l of levels) {
    if (l.tpm === null) continue;
    const w = lim.checkTokens(l.scope, l.tpm, now);
    if (!w.allowed) throw rateLimited(`${l.prefix}tpm_limit of ${l.of}`, l.tpm, w, 'tokens');
  }
  try {
    for (const l of levels) {
      if (l.parallel === null) continue;
      if (!lim.acquireSlot(l.scope, l.parallel)) {
        throw new GatewayError('rate_limited', `Rate limit reached: max_parallel_requests of ${l.of} (${l.parallel}) are in flight.`, {
          headers: { 'retry-after': '1' },
        });
      }
      lease.slots.push(l.scope);
    }
    const holds = holdsOf(ctx, principal, customer);
    if (holds.length) {
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
      let refused = reserveAll(lim, holds, expected);
      if (refused && ctx.config.lowerMaxTokensToFit && !REASONING_PARAMS.some((p) => p in call.body)) {
        // The room left in the tightest budget, after the prompt.
        const room = Math.min(...holds.map((h) => h.limit - h.spent() - lim.reserved(h.scope))) - costNanos({ ...EMPTY_USAGE, input: promptTokens }, price);
        const affordable = price.output > 0 ? Math.floor((room * 1000) / price.output) : 0;
        if (affordable >= 1) {
          call.body[typeof call.body.max_completion_tokens === 'number' ? 'max_completion_tokens' : 'max_tokens'] = affordable;
          call.rewritten = true;
          expected = costNanos({ ...EMPTY_USAGE, input: promptTokens, output: affordable }, price);
          refused = reserveAll(lim, holds, expected);
        }
      }
      if (refused) throw refused.refusal(refused.spent(), lim.reserved(refused.scope));
      lease.reserved = expected;
      lease.holds = holds;
    }
    const windows = levels.filter((l) => l.rpm !== null);
    for (const l of windows) {
      const w = lim.requestsAllowed(l.scope, l.rpm!, now);
      if (!w.allowed) throw rateLimited(`${l.prefix}rpm_limit of ${l.of}`, l.rpm!, w, 'requests');
    }
    // Counted only once every level has room: a refused call takes no quota anywhere.
    for (const l of windows) lim.hitRequests(l.scope, l.rpm!, now);
  } catch (err) {
    release(ctx, lease);
    throw err;
  }
  return lease;
}

/**
 * Reserves `amount` against every budget, or against none: the first that cannot pay is returned
 * (and what the others took is given back). One process runs this without a pause, so it is atomic.
 */
function reserveAll(lim: PipelineContext['limiter'], holds: Hold[], amount: number): Hold | null {
  for (let i = 0; i < holds.length; i++) {
    const h = holds[i]!;
    if (!lim.reserve(h.scope, amount, h.spent(), h.limit)) {
      for (let j = 0; j < i; j++) lim.release(holds[j]!.scope, amount);
      return h;
    }
  }
  return null;
}

const usd = (n: number) => nanosToUsd(n);

interface Budgeted {
  spend_nanos: number;
  max_budget_nanos: number | null;
  budget_reset_at: string | null;
}

/** A record's budget as a hold; `who` names it in the refusal (`Team=search `; nothing for the key). */
function holdOn(lim: PipelineContext['limiter'], scope: string, r: Budgeted & { max_budget_nanos: number }, who: string): Hold {
  const limit = r.max_budget_nanos;
  return {
    scope,
    limit,
    // The record is the cache's, whose spend the ledger keeps current; pending is what it has not written.
    spent: () => r.spend_nanos + lim.pending(scope),
    refusal: (spent, inFlight) =>
      new GatewayError(
        'budget_exceeded',
        `Budget has been exceeded! ${who}Current cost: ${usd(spent)}, Max budget: ${usd(limit)} (in flight: ${usd(inFlight)}).${r.budget_reset_at ? ` It resets at ${r.budget_reset_at}.` : ''}`,
      ),
  };
}

const budgeted = <T extends Budgeted>(r: T | null): r is T & { max_budget_nanos: number } => r !== null && r.max_budget_nanos !== null;

/** An entity's spend against the shared budget it points at (budget_id): the limit and period are the budget's. */
function onShared(ctx: PipelineContext, entity: { spend_nanos: number; budget_id: string | null }): (Budgeted & { max_budget_nanos: number }) | null {
  const b = ctx.budgets.get(entity.budget_id);
  if (!b || b.max_budget_nanos === null) return null;
  return {
    get spend_nanos() {
      return entity.spend_nanos;
    },
    max_budget_nanos: b.max_budget_nanos,
    budget_reset_at: b.budget_reset_at,
  };
}

/**
 * The budgets a key's call is held against, as LiteLLM applies them: the key's own; its team's, or,
 * for a key of no team, its user's (a team key also against its user's with
 * general_settings.apply_user_budget_to_team_keys); its organization's; the customer's it is made for.
 */
function holdsOf(ctx: PipelineContext, principal: KeyPrincipal, customer: string | null): Hold[] {
  const lim = ctx.limiter;
  const { key, token, team, user, org } = principal;
  const holds: Hold[] = [];
  if (budgeted(key)) holds.push(holdOn(lim, token, key, ''));
  if (budgeted(team)) holds.push(holdOn(lim, `team:${team.team_id}`, team, `Team=${team.team_id} `));
  if (budgeted(user) && (!team || ctx.config.applyUserBudgetToTeamKeys)) holds.push(holdOn(lim, `user:${user.user_id}`, user, `User=${user.user_id} `));
  const orgBudget = org && onShared(ctx, org);
  if (org && orgBudget) holds.push(holdOn(lim, `org:${org.organization_id}`, orgBudget, `Organization=${org.organization_id} `));
  const c = customer === null ? undefined : ctx.customers.get(customer);
  const customerBudget = c && onShared(ctx, c);
  if (customerBudget) holds.push(holdOn(lim, `customer:${customer}`, customerBudget, `Customer=${customer} `));
  return holds;
}

/** Grows the reservation of a stream to cover `nanos` in all; false when a budget cannot pay. */
export function extendLease(ctx: PipelineContext, lease: Lease, nanos: number): boolean {
  if (lease.holds.length === 0 || nanos <= lease.reserved) return true;
  // Reserve ahead in steps, so the check runs once per step, not once per chunk.
  const step = Math.max(nanos - lease.reserved, Math.ceil(lease.reserved / 4), 1);
  const want = Math.min(step, ...lease.holds.map((h) => h.limit));
  if (!reserveAll(ctx.limiter, lease.holds, want)) {
    lease.reserved += want;
    return true;
  }
  const exact = nanos - lease.reserved;
  if (!reserveAll(ctx.limiter, lease.holds, exact)) {
    lease.reserved += exact;
    return true;
  }
  return false;
}

export function release(ctx: PipelineContext, lease: Lease): void {
  if (lease.reserved) for (const h of lease.holds) ctx.limiter.release(h.scope, lease.reserved);
  lease.reserved = 0;
  for (const scope of lease.slots) ctx.limiter.releaseSlot(scope);
  lease.slots = [];
}
