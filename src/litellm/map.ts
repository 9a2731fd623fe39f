// LiteLLM's rows as this gateway's records: what each column becomes, and the columns that have no
// equivalent here (named in the import's report whenever a row sets them, never silently dropped).
import { tokenOf } from '../auth/keys.ts';
import { usdToNanos } from '../metering/money.ts';
import type { SpendRecord } from '../metering/record.ts';
import type { SqlValue } from '../store/db.ts';
import { BUDGETS } from '../store/budgets.ts';
import { CUSTOMERS } from '../store/customers.ts';
import { KEYS } from '../store/keys.ts';
import { ORG_MEMBERS, ORGS } from '../store/organizations.ts';
import type { TableSpec } from '../store/rows.ts';
import { TAGS } from '../store/tags.ts';
import { TEAM_MEMBERS, TEAMS } from '../store/teams.ts';
import { USERS } from '../store/users.ts';
import type { LiteLLMTable, Row } from './source.ts';

/** One row of ours to write: its table, its primary key, its fields (without spend) and LiteLLM's spend. */
export interface Mapped {
  spec: TableSpec<any>;
  pk: Record<string, string>;
  fields: Record<string, unknown>;
  spend_nanos: number;
  /** Columns with a unique index here (key aliases, user emails), cleared with a warning on a clash. */
  unique?: { column: string; lower?: boolean };
  /** A line for the report when part of the row could not come across. */
  notes: string[];
}

export interface TableMapping {
  table: LiteLLMTable;
  /** The import state's name for these rows. */
  kind: string;
  /** Every row of ours this LiteLLM row becomes (a team: its members too). */
  map(row: Row, now: string): Mapped[];
  /** Columns with no equivalent here, and what that means for a user. */
  unsupported: Record<string, string>;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));
const usd = (v: unknown): number | null => (v === null || v === undefined ? null : usdToNanos(Number(v)));
const spend = (v: unknown): number => usdToNanos(Number(v ?? 0));
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
export const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const objOrNull = (v: unknown): Record<string, unknown> | null => (Object.keys(obj(v)).length ? obj(v) : null);

/** Whether a LiteLLM column holds something (not its default: null, '', [], {}, false or 0). */
export function isSet(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** LiteLLM's per-model budgets ({model: {budget_limit, time_period}}) where each entry has both; the others are named. */
function modelBudgets(v: unknown, notes: string[], what: string): Record<string, { budget_limit: number; time_period: string }> | null {
  const out: Record<string, { budget_limit: number; time_period: string }> = {};
  for (const [model, b] of Object.entries(obj(v))) {
    const e = obj(b);
    const limit = num(e.budget_limit ?? e.max_budget);
    const period = str(e.time_period ?? e.budget_duration);
    if (limit !== null && Number.isFinite(limit) && period) out[model] = { budget_limit: limit, time_period: period };
    else notes.push(`${what}: model_max_budget for ${model} has no budget_limit or no time_period (LiteLLM ignores it too); not imported`);
  }
  return Object.keys(out).length ? out : null;
}

/**
 * A dashboard password as this gateway keeps it (auth/passwords.ts). LiteLLM's scrypt rows
 * ("scrypt:" + base64(salt 16 || key 32), N 16384, r 8, p 1) are the same KDF with the same
 * parameters, so users sign in with the passwords they have. Older forms (unsalted SHA-256 hex,
 * FIPS mode's PBKDF2, plain text) cannot be carried: those users get a new one from an admin.
 */
function passwordHash(v: unknown, user: string, notes: string[]): string | null {
  const stored = str(v);
  if (!stored) return null;
  const raw = stored.startsWith('scrypt:') ? Buffer.from(stored.slice('scrypt:'.length), 'base64') : null;
  if (raw && raw.length === 48) return `scrypt$16384$8$1$${raw.subarray(0, 16).toString('base64url')}$${raw.subarray(16).toString('base64url')}`;
  const form = /^[0-9a-f]{64}$/.test(stored) ? 'an unsalted SHA-256 of an older LiteLLM' : stored.startsWith('pbkdf2:') ? 'PBKDF2 (LiteLLM\'s FIPS mode)' : 'a form this gateway does not read';
  notes.push(`user ${user}: the dashboard password is ${form}; not imported (set a new one with /user/update)`);
  return null;
}

const inlineBudget = (row: Row) => ({
  max_budget_nanos: usd(row.max_budget),
  soft_budget_nanos: usd(row.soft_budget),
  budget_duration: str(row.budget_duration),
  budget_reset_at: str(row.budget_reset_at),
  // LiteLLM keeps no start of the period: every spend it counted is the current period's.
  budget_period_start: null,
  tpm_limit: num(row.tpm_limit),
  rpm_limit: num(row.rpm_limit),
  max_parallel_requests: num(row.max_parallel_requests),
});

const times = (row: Row, now: string) => ({ created_at: str(row.created_at) ?? now, updated_at: str(row.updated_at) ?? str(row.created_at) ?? now });
const who = (row: Row) => ({ created_by: str(row.created_by), updated_by: str(row.updated_by) ?? str(row.created_by) });

const ROLES = new Set(['proxy_admin', 'proxy_admin_viewer', 'org_admin', 'internal_user', 'internal_user_viewer']);
const ORG_ROLES = new Set(['org_admin', 'internal_user', 'internal_user_viewer']);

const PER_MODEL_SPEND = 'lifetime spend per model; the totals come across, per-model spend is in the spend logs';
const TPD = 'tokens per day: only per-minute token limits (tpm_limit) are enforced here';
const OBJECT_PERMISSIONS = 'MCP servers and agents the row may use: this gateway has no MCP gateway';
const POLICIES = 'guardrail policies: this gateway has no guardrails';

export const MAPPINGS: readonly TableMapping[] = [
  {
    table: 'LiteLLM_BudgetTable',
    kind: 'budget',
    map: (row, now) => [{
      spec: BUDGETS,
      pk: { budget_id: String(row.budget_id) },
      fields: { ...inlineBudget(row), model_max_budget: objOrNull(row.model_max_budget), ...who(row), ...times(row, now) },
      spend_nanos: 0,
      notes: [],
    }],
    unsupported: {
      tpd_limit: TPD,
      allowed_models: 'the models a team member may use: members use their team\'s models here',
      temp_budget_increase: 'a temporary budget increase: raise max_budget instead',
      temp_budget_expiry: 'the end of a temporary budget increase',
    },
  },
  {
    table: 'LiteLLM_OrganizationTable',
    kind: 'organization',
    map: (row, now) => [{
      spec: ORGS,
      pk: { organization_id: String(row.organization_id) },
      fields: { organization_alias: str(row.organization_alias) ?? String(row.organization_id), budget_id: str(row.budget_id), models: list(row.models), metadata: obj(row.metadata), ...who(row), ...times(row, now) },
      spend_nanos: spend(row.spend),
      notes: [],
    }],
    unsupported: { model_spend: PER_MODEL_SPEND, object_permission_id: OBJECT_PERMISSIONS },
  },
  {
    table: 'LiteLLM_UserTable',
    kind: 'user',
    map: (row, now) => {
      const notes: string[] = [];
      const id = String(row.user_id);
      let role = str(row.user_role) ?? 'internal_user';
      if (!ROLES.has(role)) {
        notes.push(`user ${id}: role ${role} does not exist here; imported as internal_user`);
        role = 'internal_user';
      }
      const password = passwordHash(row.password, id, notes);
      return [{
        spec: USERS,
        pk: { user_id: id },
        fields: {
          user_email: str(row.user_email), user_alias: str(row.user_alias), user_role: role, models: list(row.models), metadata: obj(row.metadata),
          ...inlineBudget(row), soft_budget_nanos: null, model_max_budget: objOrNull(row.model_max_budget),
          extra: isSet(row.allowed_cache_controls) ? { allowed_cache_controls: list(row.allowed_cache_controls) } : {},
          password_hash: password,
          created_by: 'litellm-import', updated_by: 'litellm-import', ...times(row, now),
        },
        spend_nanos: spend(row.spend),
        unique: { column: 'user_email', lower: true },
        notes,
      }];
    },
    unsupported: {
      sso_user_id: 'single sign-on: this gateway signs in users by email and password',
      object_permission_id: OBJECT_PERMISSIONS,
      policies: POLICIES,
      model_spend: PER_MODEL_SPEND,
    },
  },
  {
    table: 'LiteLLM_OrganizationMembership',
    kind: 'org_member',
    map: (row, now) => {
      const notes: string[] = [];
      let role = str(row.user_role) ?? 'internal_user';
      if (!ORG_ROLES.has(role)) {
        notes.push(`member ${String(row.user_id)} of organization ${String(row.organization_id)}: role ${role} is not an organization role here; imported as internal_user`);
        role = 'internal_user';
      }
      return [{
        spec: ORG_MEMBERS,
        pk: { organization_id: String(row.organization_id), user_id: String(row.user_id) },
        fields: { user_role: role, budget_id: str(row.budget_id), ...times(row, now) },
        spend_nanos: spend(row.spend),
        notes,
      }];
    },
    unsupported: {},
  },
  {
    table: 'LiteLLM_TeamTable',
    kind: 'team',
    map: (row, now) => {
      const notes: string[] = [];
      const id = String(row.team_id);
      return [{
        spec: TEAMS,
        pk: { team_id: id },
        fields: {
          team_alias: str(row.team_alias), organization_id: str(row.organization_id), models: list(row.models), metadata: obj(row.metadata),
          ...inlineBudget(row), model_max_budget: modelBudgets(row.model_max_budget, notes, `team ${id}`), blocked: row.blocked === true,
          created_by: 'litellm-import', updated_by: 'litellm-import', ...times(row, now),
        },
        spend_nanos: spend(row.spend),
        notes,
      }];
    },
    unsupported: {
      tpd_limit: TPD,
      model_spend: PER_MODEL_SPEND,
      router_settings: 'routing settings of its own: the config\'s router_settings apply to every team',
      team_member_permissions: 'management routes members may call beyond their role: roles decide here',
      access_group_ids: 'access groups by id: name the access groups in models instead',
      policies: POLICIES,
      default_team_member_models: 'models for members added later: members use their team\'s models here',
      budget_limits: 'per-model budget limits of the newer form: use model_max_budget',
      model_id: 'team model aliases (LiteLLM_ModelTable): give each key its aliases instead',
      object_permission_id: OBJECT_PERMISSIONS,
    },
  },
  {
    table: 'LiteLLM_TeamMembership',
    kind: 'team_member',
    // Members' roles are on the team (members_with_roles): see teamMemberRoles.
    map: (row, now) => [{
      spec: TEAM_MEMBERS,
      pk: { team_id: String(row.team_id), user_id: String(row.user_id) },
      fields: { budget_id: str(row.budget_id), created_at: now, updated_at: now },
      spend_nanos: spend(row.spend),
      notes: [],
    }],
    unsupported: {},
  },
  {
    table: 'LiteLLM_EndUserTable',
    kind: 'customer',
    map: (row, now) => [{
      spec: CUSTOMERS,
      pk: { user_id: String(row.user_id) },
      fields: {
        alias: str(row.alias), blocked: row.blocked === true, budget_id: str(row.budget_id), allowed_model_region: str(row.allowed_model_region),
        default_model: str(row.default_model), created_at: now, updated_at: now,
      },
      spend_nanos: spend(row.spend),
      notes: [],
    }],
    unsupported: { models: 'models a customer may use: the calling key\'s models decide here', object_permission_id: OBJECT_PERMISSIONS },
  },
  {
    table: 'LiteLLM_TagTable',
    kind: 'tag',
    map: (row, now) => [{
      spec: TAGS,
      pk: { tag_name: String(row.tag_name) },
      fields: { description: str(row.description), models: list(row.models), budget_id: str(row.budget_id), created_by: str(row.created_by), updated_by: str(row.created_by), ...times(row, now) },
      spend_nanos: spend(row.spend),
      notes: [],
    }],
    unsupported: { model_info: 'the model ids a tag routes to: tag deployments in the config (litellm_params.tags) instead' },
  },
  {
    table: 'LiteLLM_VerificationToken',
    kind: 'key',
    map: (row, now) => {
      const notes: string[] = [];
      const raw = String(row.token);
      // LiteLLM stores sha256(raw key) as hex, as this gateway does; a very old row may hold the raw key.
      const token = tokenOf(raw);
      const name = str(row.key_name) ?? 'sk-...';
      const extra: Record<string, unknown> = {};
      if (isSet(row.allowed_cache_controls)) extra.allowed_cache_controls = list(row.allowed_cache_controls);
      const keyType = str(row.key_type);
      return [{
        spec: KEYS,
        pk: { token },
        fields: {
          key_name: name, key_alias: str(row.key_alias), models: list(row.models), aliases: obj(row.aliases), metadata: obj(row.metadata),
          tags: null, user_id: str(row.user_id), team_id: str(row.team_id), organization_id: str(row.organization_id), budget_id: str(row.budget_id),
          ...inlineBudget(row), soft_budget_nanos: null, expires: str(row.expires),
          model_rpm_limit: objOrNull(obj(row.metadata).model_rpm_limit), model_tpm_limit: objOrNull(obj(row.metadata).model_tpm_limit),
          model_max_budget: modelBudgets(row.model_max_budget, notes, `key ${name}`), blocked: row.blocked === true,
          key_type: keyType && keyType !== 'default' ? keyType : null, allowed_routes: list(row.allowed_routes).length ? list(row.allowed_routes) : null,
          extra, ...who(row), ...times(row, now),
        },
        spend_nanos: spend(row.spend),
        unique: { column: 'key_alias' },
        notes,
      }];
    },
    unsupported: {
      tpd_limit: TPD,
      config: 'per-key litellm settings: set them per model in the config',
      router_settings: 'routing settings of its own: the config\'s router_settings apply to every key',
      permissions: 'per-key permissions of LiteLLM\'s: key_type and allowed_routes decide here',
      agent_id: 'the agent a key belongs to: this gateway has no agents',
      project_id: 'the project a key belongs to: use a team or a tag',
      policies: POLICIES,
      access_group_ids: 'access groups by id: name the access groups in models instead',
      model_spend: PER_MODEL_SPEND,
      budget_fallbacks: 'models to fall back to when a budget is spent: fallbacks in the config apply to errors only',
      object_permission_id: OBJECT_PERMISSIONS,
      auto_rotate: 'automatic key rotation: rotate with /key/regenerate',
      rotation_interval: 'automatic key rotation: rotate with /key/regenerate',
      budget_limits: 'per-model budget limits of the newer form: use model_max_budget',
    },
  },
];

/** Team members' roles, from members_with_roles on the team (LiteLLM_TeamMembership has no role). */
export function teamMemberRoles(team: Row): Map<string, 'admin' | 'user'> {
  const roles = new Map<string, 'admin' | 'user'>();
  const members = Array.isArray(team.members_with_roles) ? team.members_with_roles : [];
  for (const m of members) {
    const e = obj(m);
    if (typeof e.user_id === 'string' && e.user_id) roles.set(e.user_id, e.role === 'admin' ? 'admin' : 'user');
  }
  for (const id of list(team.admins)) roles.set(id, 'admin');
  return roles;
}

const CALL_TYPES: Record<string, SpendRecord['call_type']> = {
  completion: 'chat', acompletion: 'chat', embedding: 'embeddings', aembedding: 'embeddings',
  anthropic_messages: 'anthropic_messages', responses: 'responses', aresponses: 'responses',
  text_completion: 'text_completion', atext_completion: 'text_completion', rerank: 'rerank', arerank: 'rerank',
};

/** A count LiteLLM stored (a number, or a BIGINT's text); 0 for anything else. */
export const int = (v: unknown): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
};

/**
 * LiteLLM's prompt_tokens include cache reads and writes (OpenAI's convention, which it gives
 * Anthropic's usage too): split into this gateway's uncached input, cache reads and cache writes.
 */
export function promptParts(prompt: number, read: number, write: number): { input: number; cacheRead: number; cacheWrite: number } {
  const cacheRead = Math.min(prompt, read);
  const cacheWrite = Math.min(prompt - cacheRead, write);
  return { input: prompt - cacheRead - cacheWrite, cacheRead, cacheWrite };
}

/** A LiteLLM spend log as a record of the past: its tokens, cost, owners and times (nothing of the prompt or the answer). */
export function spendRecordOf(row: Row): SpendRecord {
  const meta = obj(row.metadata);
  const extra = obj(meta.additional_usage_values);
  const details = obj(obj(meta.usage_object).prompt_tokens_details);
  const prompt = promptParts(int(row.prompt_tokens), int(extra.cache_read_input_tokens ?? details.cached_tokens), int(extra.cache_creation_input_tokens ?? details.cache_creation_tokens));
  const failed = row.status === 'failure';
  const error = obj(meta.error_information);
  const start = String(row.startTime);
  const end = str(row.endTime);
  const first = str(row.completionStartTime);
  const ms = (a: string, b: string) => Math.max(0, Date.parse(b) - Date.parse(a));
  const rawCall = String(row.call_type ?? '');
  const apiKey = str(row.api_key);
  return {
    request_id: String(row.request_id),
    upstream_id: null,
    key_token: apiKey ? tokenOf(apiKey) : null,
    user_id: str(row.user),
    team_id: str(row.team_id),
    organization_id: str(row.organization_id),
    end_user: str(row.end_user),
    model_group: str(row.model_group) ?? str(row.model) ?? '',
    deployment_id: str(row.model_id),
    provider: str(row.custom_llm_provider),
    model: str(row.model),
    // Call types with no counterpart here (image generation, transcription, ...) keep LiteLLM's name.
    call_type: CALL_TYPES[rawCall] ?? (rawCall as SpendRecord['call_type']),
    usage: { ...prompt, cacheWrite1h: 0, output: int(row.completion_tokens), reasoning: 0, estimated: false },
    cost_nanos: spend(row.spend),
    status: failed ? 'error' : 'success',
    http_status: failed ? Number(error.error_code) || 500 : 200,
    error_type: failed ? (str(error.error_class) ?? 'error') : null,
    stream: false,
    latency_ms: row.request_duration_ms != null ? Number(row.request_duration_ms) : end ? ms(start, end) : 0,
    ttft_ms: first && first !== end ? ms(start, first) : null,
    tags: list(row.request_tags),
    started_at: start,
    cache_hit: row.cache_hit === 'True',
  };
}

export type { SqlValue };
