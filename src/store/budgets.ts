// Repository of shared budgets (LiteLLM_BudgetTable): limits that organizations, customers, team and
// organization members and keys point at by budget_id.
import type { Db, Queryable } from './db.ts';
import { EntityRepo, placeholders, type TableSpec } from './rows.ts';
import { scopeOf } from './scopes.ts';

export interface BudgetRecord {
  budget_id: string;
  max_budget_nanos: number | null;
  soft_budget_nanos: number | null;
  max_parallel_requests: number | null;
  tpm_limit: number | null;
  rpm_limit: number | null;
  model_max_budget: Record<string, unknown> | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  /** When the current period began (null: no period). */
  budget_period_start: string | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export const BUDGETS: TableSpec<BudgetRecord> = {
  table: 'llmproxy_budgets',
  columns: [
    'budget_id', 'max_budget_nanos', 'soft_budget_nanos', 'max_parallel_requests', 'tpm_limit', 'rpm_limit', 'model_max_budget',
    'budget_duration', 'budget_reset_at', 'budget_period_start', 'created_by', 'updated_by', 'created_at', 'updated_at',
  ],
  json: new Set(['model_max_budget']),
  bools: new Set(),
};

/** Where a budget is used, for /budget/list and to refuse deleting one in use. */
export interface BudgetLink {
  entity_type: 'organization' | 'end_user' | 'team_member' | 'organization_member' | 'key' | 'tag';
  entity_id: string;
  parent_entity_id?: string;
}

export class BudgetRepo extends EntityRepo<BudgetRecord> {
  constructor(db: Queryable) {
    super(db, BUDGETS, 'budget_id');
  }

  /** Budgets whose period has ended at `now`. */
  async dueForReset(now: string): Promise<BudgetRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_budgets WHERE budget_reset_at IS NOT NULL AND budget_reset_at <= ?', [now])).map(this.read);
  }

  async list(): Promise<BudgetRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_budgets ORDER BY created_at, budget_id')).map(this.read);
  }

  /** Every entity that points at one of these budgets. */
  async links(ids: string[]): Promise<Map<string, BudgetLink[]>> {
    const out = new Map<string, BudgetLink[]>();
    if (ids.length === 0) return out;
    const list = placeholders(ids.length);
    const add = (budget: string, link: BudgetLink) => out.set(budget, [...(out.get(budget) ?? []), link]);
    for (const r of await this.db.all<{ b: string; id: string }>(`SELECT budget_id AS b, organization_id AS id FROM llmproxy_organizations WHERE budget_id IN (${list})`, ids)) {
      add(r.b, { entity_type: 'organization', entity_id: r.id });
    }
    for (const r of await this.db.all<{ b: string; id: string }>(`SELECT budget_id AS b, user_id AS id FROM llmproxy_customers WHERE budget_id IN (${list})`, ids)) {
      add(r.b, { entity_type: 'end_user', entity_id: r.id });
    }
    for (const r of await this.db.all<{ b: string; id: string; p: string }>(`SELECT budget_id AS b, user_id AS id, team_id AS p FROM llmproxy_team_members WHERE budget_id IN (${list})`, ids)) {
      add(r.b, { entity_type: 'team_member', entity_id: r.id, parent_entity_id: r.p });
    }
    for (const r of await this.db.all<{ b: string; id: string; p: string }>(
      `SELECT budget_id AS b, user_id AS id, organization_id AS p FROM llmproxy_org_members WHERE budget_id IN (${list})`,
      ids,
    )) {
      add(r.b, { entity_type: 'organization_member', entity_id: r.id, parent_entity_id: r.p });
    }
    for (const r of await this.db.all<{ b: string; id: string }>(`SELECT budget_id AS b, token AS id FROM llmproxy_keys WHERE budget_id IN (${list})`, ids)) {
      add(r.b, { entity_type: 'key', entity_id: r.id });
    }
    for (const r of await this.db.all<{ b: string; id: string }>(`SELECT budget_id AS b, tag_name AS id FROM llmproxy_tags WHERE budget_id IN (${list})`, ids)) {
      add(r.b, { entity_type: 'tag', entity_id: r.id });
    }
    return out;
  }
}

/** The tables whose rows spend against a shared budget (each row its own spend), and their scopes. */
export const ON_SHARED_BUDGETS = [
  { table: 'llmproxy_organizations', ids: ['organization_id'], scope: 'org' },
  { table: 'llmproxy_customers', ids: ['user_id'], scope: 'customer' },
  { table: 'llmproxy_team_members', ids: ['team_id', 'user_id'], scope: 'member' },
  { table: 'llmproxy_org_members', ids: ['organization_id', 'user_id'], scope: 'org_member' },
  { table: 'llmproxy_tags', ids: ['tag_name'], scope: 'tag' },
] as const;

/** The live-counter scopes (`org:ID`, `member:TEAM:USER`, ...) of every row on a shared budget. */
export async function scopesOn(db: Queryable, budgetId: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of ON_SHARED_BUDGETS) {
    const rows = await db.all<Record<string, string>>(`SELECT ${t.ids.join(', ')} FROM ${t.table} WHERE budget_id = ?`, [budgetId]);
    for (const r of rows) out.push(scopeOf(t.scope, t.ids.map((c) => r[c]!)));
  }
  return out;
}

/**
 * Starts a shared budget's next period, unless another writer already did: in one transaction, the
 * spend of every row on it goes to 0 while the budget still shows the period that ended, then the
 * budget moves on (compare-and-set on its reset time). True when this call did it.
 */
export async function resetSharedBudget(db: Pick<Db, 'batch'>, id: string, expectedResetAt: string, periodStart: string, nextResetAt: string): Promise<boolean> {
  const still = 'EXISTS (SELECT 1 FROM llmproxy_budgets b WHERE b.budget_id = ? AND b.budget_reset_at = ?)';
  const changes = await db.batch([
    ...ON_SHARED_BUDGETS.map((t) => ({ sql: `UPDATE ${t.table} SET spend_nanos = 0 WHERE budget_id = ? AND ${still}`, params: [id, id, expectedResetAt] })),
    { sql: 'UPDATE llmproxy_budgets SET budget_period_start = ?, budget_reset_at = ? WHERE budget_id = ? AND budget_reset_at = ?', params: [periodStart, nextResetAt, id, expectedResetAt] },
  ]);
  return changes.at(-1) === 1;
}
