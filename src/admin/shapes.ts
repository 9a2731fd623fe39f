// The JSON shapes of LiteLLM's tables as the management API answers them (money in USD). Spend is
// live: the database's figure plus what the ledger has not written yet. Password hashes never leave.
import { nanosToUsd } from '../metering/money.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import type { BudgetRecord } from '../store/budgets.ts';
import type { CustomerRecord } from '../store/customers.ts';
import type { OrgMember, OrgRecord } from '../store/organizations.ts';
import type { TeamMember, TeamRecord } from '../store/teams.ts';
import type { UserRecord } from '../store/users.ts';
import { scopeOf } from '../store/scopes.ts';
import type { TagRecord } from '../store/tags.ts';
import { budgetJson } from './budgets.ts';

const usd = (n: number | null) => (n === null ? null : nanosToUsd(n));
const live = (ctx: PipelineContext, scope: string, nanos: number) => nanosToUsd(nanos + ctx.limiter.pending(scope));

export function userJson(ctx: PipelineContext, u: UserRecord, teams: string[] = []): Record<string, unknown> {
  return {
    ...u.extra,
    user_id: u.user_id,
    user_email: u.user_email,
    user_alias: u.user_alias,
    user_role: u.user_role,
    teams,
    models: u.models,
    spend: live(ctx, `user:${u.user_id}`, u.spend_nanos),
    max_budget: usd(u.max_budget_nanos),
    soft_budget: usd(u.soft_budget_nanos),
    budget_duration: u.budget_duration,
    budget_reset_at: u.budget_reset_at,
    tpm_limit: u.tpm_limit,
    rpm_limit: u.rpm_limit,
    max_parallel_requests: u.max_parallel_requests,
    model_max_budget: u.model_max_budget ?? {},
    model_spend: {},
    metadata: u.metadata,
    has_password: u.password_hash !== null,
    created_by: u.created_by,
    updated_by: u.updated_by,
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}

export function teamMemberJson(ctx: PipelineContext, m: TeamMember, budget: BudgetRecord | undefined): Record<string, unknown> {
  return {
    user_id: m.user_id,
    team_id: m.team_id,
    role: m.role,
    budget_id: m.budget_id,
    spend: live(ctx, scopeOf('member', [m.team_id, m.user_id]), m.spend_nanos),
    litellm_budget_table: budget ? budgetJson(budget) : null,
    created_at: m.created_at,
    updated_at: m.updated_at,
  };
}

/** A team with its members as LiteLLM lists them (`members_with_roles`, with each member's email). */
export function teamJson(ctx: PipelineContext, t: TeamRecord, members: TeamMember[], emails: Map<string, string | null>): Record<string, unknown> {
  return {
    ...t.extra,
    team_id: t.team_id,
    team_alias: t.team_alias,
    organization_id: t.organization_id,
    admins: members.filter((m) => m.role === 'admin').map((m) => m.user_id),
    members: members.map((m) => m.user_id),
    members_with_roles: members.map((m) => ({ role: m.role, user_id: m.user_id, user_email: emails.get(m.user_id) ?? null })),
    team_member_permissions: [],
    metadata: t.metadata,
    models: t.models,
    spend: live(ctx, `team:${t.team_id}`, t.spend_nanos),
    max_budget: usd(t.max_budget_nanos),
    soft_budget: usd(t.soft_budget_nanos),
    budget_duration: t.budget_duration,
    budget_reset_at: t.budget_reset_at,
    tpm_limit: t.tpm_limit,
    rpm_limit: t.rpm_limit,
    max_parallel_requests: t.max_parallel_requests,
    model_max_budget: t.model_max_budget ?? {},
    blocked: t.blocked,
    created_by: t.created_by,
    updated_by: t.updated_by,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

export function orgMemberJson(ctx: PipelineContext, m: OrgMember, budget: BudgetRecord | undefined, email: string | null = null): Record<string, unknown> {
  return {
    user_id: m.user_id,
    organization_id: m.organization_id,
    user_role: m.user_role,
    user_email: email,
    spend: live(ctx, scopeOf('org_member', [m.organization_id, m.user_id]), m.spend_nanos),
    budget_id: m.budget_id,
    litellm_budget_table: budget ? budgetJson(budget) : null,
    created_at: m.created_at,
    updated_at: m.updated_at,
  };
}

export function orgJson(ctx: PipelineContext, o: OrgRecord, budget: BudgetRecord | undefined): Record<string, unknown> {
  return {
    ...o.extra,
    organization_id: o.organization_id,
    organization_alias: o.organization_alias,
    budget_id: o.budget_id,
    spend: live(ctx, `org:${o.organization_id}`, o.spend_nanos),
    model_spend: {},
    metadata: o.metadata,
    models: o.models,
    litellm_budget_table: budget ? budgetJson(budget) : null,
    created_by: o.created_by,
    updated_by: o.updated_by,
    created_at: o.created_at,
    updated_at: o.updated_at,
  };
}

export function customerJson(ctx: PipelineContext, c: CustomerRecord, budget: BudgetRecord | undefined): Record<string, unknown> {
  return {
    user_id: c.user_id,
    alias: c.alias,
    spend: live(ctx, `customer:${c.user_id}`, c.spend_nanos),
    blocked: c.blocked,
    allowed_model_region: c.allowed_model_region,
    default_model: c.default_model,
    budget_id: c.budget_id,
    litellm_budget_table: budget ? budgetJson(budget) : null,
    metadata: c.metadata,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

/** A tag as LiteLLM's /tag/info shows it, with its spend (live) and its budget row. */
export function tagJson(ctx: PipelineContext, t: TagRecord, budget: BudgetRecord | undefined): Record<string, unknown> {
  return {
    name: t.tag_name,
    description: t.description,
    models: t.models,
    model_info: {},
    spend: live(ctx, `tag:${t.tag_name}`, t.spend_nanos),
    budget_id: t.budget_id,
    litellm_budget_table: budget ? budgetJson(budget) : null,
    created_at: t.created_at,
    updated_at: t.updated_at,
    created_by: t.created_by,
  };
}
