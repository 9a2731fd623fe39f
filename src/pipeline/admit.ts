// May this principal make this call now? Model access, then the key's limits and budget. Checks that
// consume nothing come first and everything taken is given back when a later check refuses, so a
// refused request consumes no quota. The Lease records what was taken; settle gives it back.
import type { Principal } from '../auth/principal.ts';
import type { Deployment } from '../config/load.ts';
import { GatewayError } from '../http/errors.ts';
import { costNanos } from '../metering/cost.ts';
import { nanosToUsd, usdToNanos } from '../metering/money.ts';
import type { Price } from '../metering/prices.ts';
import { EMPTY_USAGE } from '../metering/usage.ts';
import { modelRefusedBy } from '../policy/model-access.ts';
import type { AdmitPlan, BudgetCounter, Counters, Settlement, Spends, TokenHold } from '../policy/counters.ts';
import type { PipelineContext } from './context.ts';
import type { LlmRequest } from '../dialects/openai-chat.ts';
import { scopeOf } from '../store/scopes.ts';
import type { UserRecord } from '../store/users.ts';
import { PROXY_BUDGET_ID, PROXY_BUDGET_SCOPE } from '../policy/proxy-budget.ts';
import { keyModelRef, type ModelBudget } from '../store/key-models.ts';
import type { AlertOwner, Caller, Watched } from '../policy/alerts.ts';

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

/**
 * A budget a call is held against: its live counter's scope, its limit, and what it has spent. (With
 * alerts on, a budget with only a soft limit is watched as one of limit Infinity, never held.)
 */
export class Hold implements Watched {
  readonly scope: string;
  readonly limit: number;
  /** Whose spend counts: the cache's record, which the ledger keeps current. */
  private readonly spender: { spend_nanos: number };
  readonly resetAt: string | null;
  /** Which life of the budget this is: the spender's creation and the period's start (a new one is a new shared counter). */
  readonly period: string;
  /** How the refusal names the budget (`Team=search `; nothing for the key's own). */
  readonly who: string;
  readonly owner: AlertOwner;
  readonly soft: number | null;
  private readonly limiter: PipelineContext['limiter'];

  constructor(
    limiter: PipelineContext['limiter'],
    scope: string,
    limit: number,
    spender: { spend_nanos: number; created_at: string },
    period: { budget_reset_at: string | null; budget_period_start: string | null },
    who: string,
    owner: AlertOwner,
    soft: number | null = null,
  ) {
    this.limiter = limiter;
    this.scope = scope;
    this.limit = limit;
    this.spender = spender;
    this.resetAt = period.budget_reset_at;
    // The spender's creation too: an entity deleted and made again under its id starts from nothing.
    this.period = `${spender.created_at}/${period.budget_period_start ?? ''}`;
    this.who = who;
    this.owner = owner;
    this.soft = soft;
  }

  /** Recorded spend plus this instance's spend not yet written (read at each step: streams extend as they go). */
  spent(): number {
    return this.spender.spend_nanos + this.limiter.pending(this.scope);
  }

  counter(): BudgetCounter {
    return { scope: this.scope, period: this.period, limit: this.limit, seed: this.spent() };
  }

  /**
   * The refusal, naming the budget: which level, its limit, its reset; and, when what is left would
   * pay for a smaller call, what this one was expected to cost and why (its reservation is the reason).
   */
  refusal(spent: number, reserved: number, call?: { amount: number; prompt: number; output: number; basis: 'max_tokens' | 'usual' | 'assumed' }): GatewayError {
    const reset = this.resetAt ? ` It resets at ${this.resetAt}.` : '';
    let why = '';
    if (call && spent + reserved < this.limit) {
      const assumed =
        call.basis === 'max_tokens' ? 'its max_tokens' : call.basis === 'usual' ? "what this model's streams usually take" : 'assumed, as no max_tokens was sent: send a smaller max_tokens to reserve less';
      why = ` This call was expected to cost up to ${nanosToUsd(call.amount)} (${call.prompt} prompt tokens estimated, ${call.output} output tokens, ${assumed}), more than the ${nanosToUsd(this.limit - spent - reserved)} left.`;
    }
    return new GatewayError(
      'budget_exceeded',
      `Budget has been exceeded! ${this.who}Current cost: ${nanosToUsd(spent)}, Max budget: ${nanosToUsd(this.limit)} (in flight: ${nanosToUsd(reserved)}).${why}${reset}`,
    );
  }
}

const countersOf = (holds: Hold[]) => holds.map((h) => h.counter());

export interface Lease {
  /** Reservation held, nano-dollars: the same amount against each of `holds`. */
  reserved: number;
  /** The concurrency slots held (max_parallel_requests), by scope. */
  slots: string[];
  /**
   * The token windows of the levels with a tpm limit, and the tokens admission held in each: the
   * call's real count takes their place when it ends.
   */
  tokens: TokenHold[];
  /** What the call is expected to use, prompt and output: what it holds in each token window (at most its limit). */
  expectedTokens: number;
  /** The price used for reservations: the dearest deployment of the group. */
  price: Price;
  promptTokens: number;
  /** Every budget that applies to the call (none: nothing is reserved or metered on the way). */
  holds: Hold[];
  /** The counters that admitted the call (Redis, or this process's when Redis failed open); null: none. */
  via: Counters | null;
  /**
   * The reservation covers the most the call can produce (its max_tokens): a stream is not extended
   * or cut for an estimate of its text that runs past it (4 characters a token is rough).
   */
  covered: boolean;
  /** The model of the key's model_max_budget that holds the call (its record says so), or null. */
  budgetModel: string | null;
  /** Budgets with only a soft limit, watched for alerts (alerts on), never held. */
  watched: Hold[];
}

/** A price no cheaper than any deployment's, so reservations err on the safe side. */
function dearest(ctx: PipelineContext, deployments: Deployment[], model: string): Price {
  let best: Price | null = null;
  for (const d of deployments) {
    const p = ctx.prices.priceFor(d, d.upstreamModel.includes('*') ? model : d.upstreamModel);
    if (!best || p.input + p.output + p.perQuery > best.input + best.output + best.perQuery) best = p;
  }
  return best!;
}

function rateLimited(what: string, limit: number, retryAfterMs: number, kind: 'requests' | 'tokens'): GatewayError {
  const retry = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GatewayError('rate_limited', `Rate limit reached: ${what} (${limit} ${kind} per minute). Try again in ${retry} s.`, {
    headers: {
      'retry-after': String(retry),
      [`x-ratelimit-limit-${kind}`]: String(limit),
      [`x-ratelimit-remaining-${kind}`]: '0',
    },
  });
}

/** One level's rate limits: the key's, the key's for one model, its team's, its user's, ... */
interface Limits {
  scope: string;
  level: 'key' | 'model' | 'team' | 'team model' | 'user' | 'team member' | 'organization' | 'customer';
  /** The model group, team, user, ... (nothing for the key; the team for a team's model). */
  id: string;
  /** The model group of a team's per-model limit. */
  model?: string;
  rpm: number | null;
  tpm: number | null;
  parallel: number | null;
}

/** How a refusal names a level's limit: `rpm_limit of team search`, `model_tpm_limit of this key for gpt-4`. */
function limitName(l: Limits, limit: 'rpm_limit' | 'tpm_limit' | 'max_parallel_requests'): string {
  if (l.level === 'key') return `${limit} of this key`;
  if (l.level === 'model') return `model_${limit} of this key for ${l.id}`;
  if (l.level === 'team model') return `model_${limit} of team ${l.id} for ${l.model}`;
  return `${limit} of ${l.level} ${l.id}`;
}

/** A team's limit for one model group (its metadata's model_rpm_limit / model_tpm_limit, as LiteLLM keeps them). */
function teamModelLimit(metadata: Record<string, unknown>, field: 'model_rpm_limit' | 'model_tpm_limit', group: string): number | null {
  const limits = metadata[field];
  if (typeof limits !== 'object' || limits === null || !Object.hasOwn(limits, group)) return null;
  const n = (limits as Record<string, unknown>)[group];
  return typeof n === 'number' && n >= 0 ? n : null;
}

const hasLimits = (l: { rpm_limit: number | null; tpm_limit: number | null; max_parallel_requests: number | null }) =>
  l.rpm_limit !== null || l.tpm_limit !== null || l.max_parallel_requests !== null;

/**
 * The levels whose limits a key's call counts against (a user's limits hold all their keys): the
 * key's, its team's, its user's; the user's in the team, the organization's and the customer's from
 * their budget rows (budget_id).
 */
function limitsOf(ctx: PipelineContext, principal: KeyPrincipal, group: string, customer: string | null): Limits[] {
  const { key: k, token, team, user, member, org } = principal;
  const out: Limits[] = [
    { scope: token, level: 'key', id: '', rpm: k.rpm_limit, tpm: k.tpm_limit, parallel: k.max_parallel_requests },
    { scope: `${token}:${group}`, level: 'model', id: group, rpm: k.model_rpm_limit?.[group] ?? null, tpm: k.model_tpm_limit?.[group] ?? null, parallel: null },
  ];
  const add = (scope: string, level: Limits['level'], id: string, l: Parameters<typeof hasLimits>[0] | undefined) => {
    if (l && hasLimits(l)) out.push({ scope, level, id, rpm: l.rpm_limit, tpm: l.tpm_limit, parallel: l.max_parallel_requests });
  };
  if (team) {
    add(`team:${team.team_id}`, 'team', team.team_id, team);
    const rpm = teamModelLimit(team.metadata, 'model_rpm_limit', group);
    const tpm = teamModelLimit(team.metadata, 'model_tpm_limit', group);
    if (rpm !== null || tpm !== null) out.push({ scope: scopeOf('team_model', [team.team_id, group]), level: 'team model', id: team.team_id, model: group, rpm, tpm, parallel: null });
  }
  if (user) add(`user:${user.user_id}`, 'user', user.user_id, user);
  if (member?.budget_id) add(scopeOf('member', [member.team_id, member.user_id]), 'team member', `${member.user_id} in team ${member.team_id}`, ctx.budgets.get(member.budget_id));
  if (org?.budget_id) add(`org:${org.organization_id}`, 'organization', org.organization_id, ctx.budgets.get(org.budget_id));
  const c = customer === null ? undefined : ctx.customers.get(customer);
  if (c?.budget_id) add(`customer:${customer}`, 'customer', customer!, ctx.budgets.get(c.budget_id));
  return out;
}

/** `customer`: whom the call is made for (the request's `user`, ...), whose budget holds it too. */
export async function admitLimits(
  ctx: PipelineContext,
  principal: Principal,
  call: LlmRequest,
  group: string,
  deployments: Deployment[],
  rawBytes: number,
  customer: string | null = null,
  tags: string[] = [],
  now = Date.now(),
): Promise<Lease> {
  const price = dearest(ctx, deployments, call.model);
  // About four bytes of JSON per prompt token: an overestimate, which is the safe side for a reservation.
  const promptTokens = Math.ceil(rawBytes / 4);
  const maxTokens = call.maxTokensField ? call.body[call.maxTokensField] : (call.body.max_completion_tokens ?? call.body.max_tokens);
  // A plain answer cannot be watched: its max_tokens is reserved. A stream is metered as it flows, so
  // a huge max_tokens (coding agents send 128000) reserves what such answers usually take.
  const given = typeof maxTokens === 'number' && (ctx.config.strictBudgetReservations || !call.stream || maxTokens <= STREAM_RESERVE_MAX) ? maxTokens : null;
  const output = call.embedding ? 0 : expectedOutput(ctx, group, deployments, given);
  const lease: Lease = {
    reserved: 0,
    slots: [],
    tokens: [],
    expectedTokens: promptTokens + output,
    price,
    promptTokens,
    holds: [],
    via: null,
    covered: false,
    budgetModel: null,
    watched: [],
  };
  if (principal.kind !== 'key') return lease;
  const levels = limitsOf(ctx, principal, group, customer);
  const plan: AdmitPlan = { now, tokens: [], slots: [], budgets: [], amount: 0, requests: [] };
  const tpm: Limits[] = [];
  const parallel: Limits[] = [];
  const rpm: Limits[] = [];
  // The levels of each kind of limit, in the plan's order (a refusal is named by its index).
  for (const l of levels) {
    if (l.tpm !== null) {
      tpm.push(l);
      // A call expected to use more than the whole limit holds all of it: it fits an empty window only.
      const held = Math.min(lease.expectedTokens, l.tpm);
      plan.tokens.push({ scope: l.scope, limit: l.tpm, held });
      lease.tokens.push({ scope: l.scope, held, at: now });
    }
    if (l.parallel !== null) {
      parallel.push(l);
      plan.slots.push({ scope: l.scope, max: l.parallel });
    }
    if (l.rpm !== null) {
      rpm.push(l);
      plan.requests.push({ scope: l.scope, limit: l.rpm });
    }
  }
  const proxy = ctx.config.proxyBudget ? (ctx.users.peek(PROXY_BUDGET_ID) ?? (await ctx.users.lookup(PROXY_BUDGET_ID))) : null;
  const { holds, watched } = holdsOf(ctx, principal, customer, tags, proxy);
  lease.watched = watched;
  const modelHold = principal.key.model_max_budget ? await keyModelHold(ctx, principal, principal.key.model_max_budget, group, call.model) : null;
  if (modelHold) holds.unshift(modelHold);
  if (holds.length) {
    if (price.source === 'none' && !ctx.config.allowUnpricedWithBudget) {
      throw new GatewayError(
        'unpriced_model',
        `Model "${group}" has no known price, so a budget cannot be kept: set its input_cost_per_token / output_cost_per_token, or general_settings.allow_unpriced_models_with_budget.`,
        { param: 'model' },
      );
    }
    // (n choices can produce n times max_tokens: those are metered, as the reservation is for one)
    lease.covered = given !== null && [call.body.n, call.body.best_of].every((v) => v === undefined || v === null || v === 1);
    plan.budgets = countersOf(holds);
    plan.amount = costNanos({ ...EMPTY_USAGE, input: promptTokens, output, searchUnits: call.searchUnits }, price);
  }
  if (plan.tokens.length + plan.slots.length + plan.requests.length + plan.budgets.length === 0) return lease;

  // Everything in one step (one round trip with Redis), all or none: a refused call takes no quota anywhere.
  let a = await ctx.counters.admit(plan);
  if (!a.ok && a.refused === 'budget' && ctx.config.lowerMaxTokensToFit && !call.embedding && !REASONING_PARAMS.some((p) => p in call.body)) {
    // The room left in the tightest budget, after the prompt.
    const room = a.room - costNanos({ ...EMPTY_USAGE, input: promptTokens }, price);
    const affordable = price.output > 0 ? Math.floor((room * 1000) / price.output) : 0;
    if (affordable >= 1) {
      call.body[call.maxTokensField ?? (typeof call.body.max_completion_tokens === 'number' ? 'max_completion_tokens' : 'max_tokens')] = affordable;
      call.rewritten = true;
      lease.covered = true;
      plan.amount = costNanos({ ...EMPTY_USAGE, input: promptTokens, output: affordable }, price);
      a = await ctx.counters.admit(plan);
    }
  }
  if (!a.ok) {
    lease.tokens = [];
    if (a.refused === 'budget') {
      const h = holds[a.index]!;
      ctx.alerts?.refused(h, a.spent, plan.amount, callerOf(principal, customer));
      const basis = given !== null ? 'max_tokens' : typeof maxTokens === 'number' ? 'usual' : 'assumed';
      throw h.refusal(a.spent, a.reserved, { amount: plan.amount, prompt: promptTokens, output, basis });
    }
    if (a.refused === 'tokens') throw rateLimited(limitName(tpm[a.index]!, 'tpm_limit'), tpm[a.index]!.tpm!, a.retryAfterMs, 'tokens');
    if (a.refused === 'requests') throw rateLimited(limitName(rpm[a.index]!, 'rpm_limit'), rpm[a.index]!.rpm!, a.retryAfterMs, 'requests');
    const l = parallel[a.index]!;
    throw new GatewayError('rate_limited', `Rate limit reached: ${limitName(l, 'max_parallel_requests')} (${l.parallel}) are in flight.`, {
      headers: { 'retry-after': '1' },
    });
  }
  lease.via = a.via;
  lease.slots = plan.slots.map((s) => s.scope);
  if (holds.length) {
    lease.reserved = plan.amount;
    lease.holds = holds;
  }
  if (modelHold) lease.budgetModel = modelHold.model;
  return lease;
}

/**
 * The output tokens a call is expected to produce: `given` (its max_tokens, when that is what is
 * reserved); else what the group's answers usually take, or, cold, the model's most (strict
 * reservations: always the most).
 */
function expectedOutput(ctx: PipelineContext, group: string, deployments: Deployment[], given: number | null): number {
  if (given !== null) return given;
  const coldMax = deployments.reduce<number | null>((m, d) => Math.max(m ?? 0, Number(d.modelInfo.max_output_tokens ?? d.modelInfo.max_tokens ?? 0)) || m, null);
  return ctx.config.strictBudgetReservations ? (coldMax ?? COLD_MAX_OUTPUT) : ctx.expectedOutput.tokens(group, null, coldMax);
}

/**
 * The entry of a key's model_max_budget that holds a call, as LiteLLM finds it: the model group,
 * then the model as asked for, then either without its provider prefix (`gpt-4o` holds `openai/gpt-4o`).
 */
export function budgetModelOf(budgets: Record<string, ModelBudget>, group: string, requested: string): string | null {
  for (const m of [group, requested, group.slice(group.lastIndexOf('/') + 1), requested.slice(requested.lastIndexOf('/') + 1)]) {
    if (Object.hasOwn(budgets, m)) return m;
  }
  return null;
}

class ModelHold extends Hold {
  readonly model: string;
  constructor(model: string, ...args: ConstructorParameters<typeof Hold>) {
    super(...args);
    this.model = model;
  }
}

/** The key's budget for the call's model (model_max_budget): its limit the key's, its spend and period the row's. */
async function keyModelHold(ctx: PipelineContext, principal: KeyPrincipal, budgets: Record<string, ModelBudget>, group: string, requested: string): Promise<ModelHold | null> {
  const model = budgetModelOf(budgets, group, requested);
  if (model === null) return null;
  const b = budgets[model]!;
  const ref = keyModelRef(principal.token, model);
  let row = ctx.keyModels.peek(ref) ?? (await ctx.keyModels.lookup(ref));
  if (!row) {
    row = await ctx.ensureKeyModel(principal.token, model, b.time_period);
    ctx.keyModels.set(ref, row);
  }
  return new ModelHold(model, ctx.limiter, `key_model:${ref}`, usdToNanos(b.budget_limit), row, row, `Model=${model} (this key's model_max_budget) `, { group: 'key', model });
}

/** Who made a call, as a budget alert names them. */
export function callerOf(p: KeyPrincipal, customer: string | null): Caller {
  return {
    token: p.token,
    key_alias: p.key.key_alias,
    user_id: p.key.user_id,
    user_email: p.user?.user_email ?? null,
    team_id: p.key.team_id,
    team_alias: p.team?.team_alias ?? null,
    organization_id: p.org?.organization_id ?? p.key.organization_id ?? null,
    customer_id: customer,
  };
}

type Spender = { spend_nanos: number; created_at: string };
type Period = { budget_reset_at: string | null; budget_period_start: string | null };

/** Whose budget each level's is, for alerts: made once, not per call. */
const OWNERS = {
  key: { group: 'key' },
  team: { group: 'team' },
  user: { group: 'internal_user' },
  member: { group: 'team_member' },
  org: { group: 'organization' },
  customer: { group: 'customer' },
  proxy: { group: 'proxy' },
} as const satisfies Record<string, AlertOwner>;

/** The budgets of a call: those with a max_budget held, those with only a soft one watched (alerts on). */
class BudgetsOf {
  readonly holds: Hold[] = [];
  readonly watched: Hold[] = [];
  private readonly ctx: PipelineContext;
  private readonly alerting: boolean;

  constructor(ctx: PipelineContext) {
    this.ctx = ctx;
    this.alerting = ctx.alerts !== null;
  }

  add(scope: string, max: number | null, soft: number | null, spender: Spender, period: Period, who: string, owner: AlertOwner): void {
    const s = this.alerting ? soft : null;
    if (max !== null) this.holds.push(new Hold(this.ctx.limiter, scope, max, spender, period, who, owner, s));
    else if (s !== null) this.watched.push(new Hold(this.ctx.limiter, scope, Infinity, spender, period, who, owner, s));
  }

  /** An entity's spend against the shared budget it points at (budget_id): the limits and period are the budget's. */
  shared(scope: string, entity: Spender & { budget_id: string | null }, who: string, owner: AlertOwner): void {
    const b = this.ctx.budgets.get(entity.budget_id);
    if (b) this.add(scope, b.max_budget_nanos, b.soft_budget_nanos, entity, b, who, owner);
  }
}

/**
 * The budgets a key's call is held against, as LiteLLM applies them: the key's own; its team's, or,
 * for a key of no team, its user's (a team key also against its user's with
 * general_settings.apply_user_budget_to_team_keys); its user's in the team; its organization's; the
 * customer's it is made for; its tags'; the proxy's.
 */
function holdsOf(ctx: PipelineContext, principal: KeyPrincipal, customer: string | null, tags: string[], proxy: UserRecord | null): BudgetsOf {
  const { key, token, team, user, org, member } = principal;
  const b = new BudgetsOf(ctx);
  // Keys, users and teams hold their own budget; organizations and customers a shared budget row.
  b.add(token, key.max_budget_nanos, key.soft_budget_nanos, key, key, '', OWNERS.key);
  if (team) b.add(`team:${team.team_id}`, team.max_budget_nanos, team.soft_budget_nanos, team, team, `Team=${team.team_id} `, OWNERS.team);
  if (user && (!team || ctx.config.applyUserBudgetToTeamKeys)) {
    b.add(`user:${user.user_id}`, user.max_budget_nanos, user.soft_budget_nanos, user, user, `User=${user.user_id} `, OWNERS.user);
  }
  // A user's share of their team's budget (max_budget_in_team), as well as the team's.
  if (member) b.shared(scopeOf('member', [member.team_id, member.user_id]), member, `User=${member.user_id} in Team=${member.team_id} `, OWNERS.member);
  if (org) b.shared(`org:${org.organization_id}`, org, `Organization=${org.organization_id} `, OWNERS.org);
  const c = customer === null ? undefined : ctx.customers.get(customer);
  if (c) b.shared(`customer:${customer}`, c, `Customer=${customer} `, OWNERS.customer);
  // Each of its tags' that has one (a cost center, a project).
  if (ctx.tags.size) {
    for (const name of tags) {
      const t = ctx.tags.get(name);
      if (t) b.shared(`tag:${name}`, t, `Tag=${name} `, { group: 'tag', tag: name });
    }
  }
  // The whole proxy's (litellm_settings.max_budget), over every virtual key's calls.
  if (proxy) b.add(PROXY_BUDGET_SCOPE, proxy.max_budget_nanos, null, proxy, proxy, `Proxy=${PROXY_BUDGET_ID} `, OWNERS.proxy);
  return b;
}

/**
 * Grows the reservation of a stream to cover `nanos` in all; false when a budget cannot pay. Reserves
 * ahead in steps, so the counters are asked once per step (a round trip with Redis), not once per chunk.
 */
export function extendLease(lease: Lease, nanos: number): boolean | Promise<boolean> {
  if (lease.holds.length === 0 || nanos <= lease.reserved || !lease.via || lease.covered) return true;
  const step = Math.max(nanos - lease.reserved, Math.ceil(lease.reserved / 4), 1);
  const want = Math.min(step, ...lease.holds.map((h) => h.limit));
  const exact = nanos - lease.reserved;
  const via = lease.via;
  const budgets = countersOf(lease.holds);
  const grown = (ok: boolean, amount: number) => {
    if (ok) lease.reserved += amount;
    return ok;
  };
  // The step ahead if the budgets have room for it, else just what the output needs now.
  const ahead = via.extend(budgets, want);
  if (typeof ahead === 'boolean') return grown(ahead, want) || grown(via.extend(budgets, exact) as boolean, exact);
  return ahead.then(async (ok) => grown(ok, want) || grown(await via.extend(budgets, exact), exact));
}

/**
 * Gives back what admission took and counts the call's cost and tokens, in one step; `cost` is
 * already in this instance's live spend (the seeds include it). `also`: the tokens the call holds in
 * its deployment's window, when the same counters hold them, settled in the same step.
 */
export function release(lease: Lease, cost = 0, tokenCount = 0, now = Date.now(), also: TokenHold | null = null): Spends | Promise<Spends> | null {
  const via = lease.via;
  if (!via) return null;
  lease.via = null;
  const tokens = also ? [...lease.tokens, also] : lease.tokens;
  const s: Settlement = { now, budgets: countersOf(lease.holds), reserved: lease.reserved, cost, slots: lease.slots, tokens, tokenCount };
  lease.reserved = 0;
  lease.slots = [];
  lease.tokens = [];
  return via.settle(s);
}
