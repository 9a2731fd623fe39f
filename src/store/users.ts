// Repository of internal users (LiteLLM_UserTable's fields); money is integer nano-dollars. A user's
// teams come from the membership table, never from a copy on the user.
import type { Queryable, SqlValue } from './db.ts';
import type { InlineBudget } from './rows.ts';
import { BudgetedRepo, placeholders, type TableSpec } from './rows.ts';

export interface UserRecord extends InlineBudget {
  user_id: string;
  user_email: string | null;
  user_alias: string | null;
  user_role: string;
  models: string[];
  metadata: Record<string, unknown>;
  /** scrypt hash of the dashboard password (auth/passwords.ts); never leaves the store layer's callers. */
  password_hash: string | null;
  extra: Record<string, unknown>;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export const USERS: TableSpec<UserRecord> = {
  table: 'llmproxy_users',
  columns: [
    'user_id', 'user_email', 'user_alias', 'user_role', 'models', 'metadata', 'spend_nanos', 'max_budget_nanos', 'soft_budget_nanos',
    'budget_duration', 'budget_reset_at', 'budget_period_start', 'tpm_limit', 'rpm_limit', 'max_parallel_requests', 'model_max_budget',
    'password_hash', 'extra', 'created_by', 'updated_by', 'created_at', 'updated_at',
  ],
  json: new Set(['models', 'metadata', 'model_max_budget', 'extra']),
  bools: new Set(),
  defaults: { models: [], metadata: {}, extra: {} },
};

export interface UserListQuery {
  page: number;
  page_size: number;
  role?: string;
  /** One id: those containing it (any case); several: exactly those. */
  user_ids?: string[];
  user_email?: string;
  /** Members of this team. */
  team?: string;
  /** Members of any of these organizations. */
  organization_ids?: string[];
  sort_by?: 'user_id' | 'user_email' | 'created_at' | 'spend' | 'user_alias' | 'user_role';
  sort_order: 'asc' | 'desc';
}

/** `%text%` for LIKE, with LIKE's own characters escaped. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class UserRepo extends BudgetedRepo<UserRecord> {
  constructor(db: Queryable) {
    super(db, USERS, 'user_id');
  }

  async getByEmail(email: string): Promise<UserRecord | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_users WHERE lower(user_email) = lower(?)', [email]);
    return row ? this.read(row) : undefined;
  }

  async list(q: UserListQuery): Promise<{ users: UserRecord[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.role !== undefined) {
      where.push('user_role = ?');
      params.push(q.role);
    }
    if (q.user_ids?.length === 1) {
      where.push("lower(user_id) LIKE ? ESCAPE '\\'");
      params.push(containsPattern(q.user_ids[0]!));
    } else if (q.user_ids && q.user_ids.length > 1) {
      where.push(`user_id IN (${placeholders(q.user_ids.length)})`);
      params.push(...q.user_ids);
    }
    if (q.user_email !== undefined) {
      where.push("lower(user_email) LIKE ? ESCAPE '\\'");
      params.push(containsPattern(q.user_email));
    }
    if (q.team !== undefined) {
      where.push('user_id IN (SELECT user_id FROM llmproxy_team_members WHERE team_id = ?)');
      params.push(q.team);
    }
    if (q.organization_ids?.length) {
      where.push(`user_id IN (SELECT user_id FROM llmproxy_org_members WHERE organization_id IN (${placeholders(q.organization_ids.length)}))`);
      params.push(...q.organization_ids);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_users ${clause}`, params))?.n ?? 0);
    const col = q.sort_by === 'spend' ? 'spend_nanos' : (q.sort_by ?? 'created_at');
    const dir = q.sort_by ? (q.sort_order === 'desc' ? 'DESC' : 'ASC') : 'DESC';
    const rows = await this.db.all(`SELECT * FROM llmproxy_users ${clause} ORDER BY ${col} ${dir}, user_id ${dir} LIMIT ? OFFSET ?`, [
      ...params,
      q.page_size,
      (q.page - 1) * q.page_size,
    ]);
    return { users: rows.map(this.read), total };
  }

  /** Users with a dashboard password, by email (sign-in). */
  async withPassword(email: string): Promise<UserRecord | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_users WHERE lower(user_email) = lower(?) AND password_hash IS NOT NULL', [email]);
    return row ? this.read(row) : undefined;
  }
}
