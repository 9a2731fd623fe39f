// Repository of virtual keys. Field names follow LiteLLM's API; money is integer nano-dollars.
import type { Queryable, SqlValue } from './db.ts';
import { fromRow, insertRow, placeholders, scopeClause, updateRow, type OwnerScope, type TableSpec } from './rows.ts';
import type { ModelBudget } from './key-models.ts';

export interface KeyRecord {
  token: string;
  key_name: string;
  key_alias: string | null;
  models: string[];
  aliases: Record<string, string>;
  metadata: Record<string, unknown>;
  tags: string[] | null;
  user_id: string | null;
  team_id: string | null;
  organization_id: string | null;
  /** A shared budget (llmproxy_budgets) the key is also held to. */
  budget_id: string | null;
  spend_nanos: number;
  max_budget_nanos: number | null;
  soft_budget_nanos: number | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  /** Start of the current budget period: spend of requests started before it is not counted. */
  budget_period_start: string | null;
  expires: string | null;
  tpm_limit: number | null;
  rpm_limit: number | null;
  max_parallel_requests: number | null;
  model_rpm_limit: Record<string, number> | null;
  model_tpm_limit: Record<string, number> | null;
  /** Per-model budgets (LiteLLM's shape); their spend is in llmproxy_key_model_budgets. */
  model_max_budget: Record<string, ModelBudget> | null;
  blocked: boolean;
  /** LiteLLM's key_type: `llm_api`, `management`, `read_only` or `default` (null: default). */
  key_type: string | null;
  /** Routes (or route groups) the key may call; null: what its role allows. */
  allowed_routes: string[] | null;
  /** Other LiteLLM key fields, kept as given. */
  extra: Record<string, unknown>;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export const KEYS: TableSpec<KeyRecord> = {
  table: 'llmproxy_keys',
  columns: [
    'token', 'key_name', 'key_alias', 'models', 'aliases', 'metadata', 'tags', 'user_id', 'team_id', 'organization_id', 'budget_id',
    'spend_nanos', 'max_budget_nanos', 'soft_budget_nanos', 'budget_duration', 'budget_reset_at', 'budget_period_start', 'expires',
    'tpm_limit', 'rpm_limit', 'max_parallel_requests', 'model_rpm_limit', 'model_tpm_limit', 'model_max_budget', 'blocked', 'key_type', 'allowed_routes',
    'extra', 'created_by', 'updated_by', 'created_at', 'updated_at',
  ],
  json: new Set(['models', 'aliases', 'metadata', 'tags', 'model_rpm_limit', 'model_tpm_limit', 'model_max_budget', 'allowed_routes', 'extra']),
  bools: new Set(['blocked']),
  defaults: { models: [], aliases: {}, metadata: {}, extra: {} },
};

const fromKeyRow = (row: Record<string, unknown>) => fromRow(KEYS, row);

export interface KeyListQuery {
  page: number;
  size: number;
  user_id?: string;
  team_id?: string;
  key_alias?: string;
  key_hash?: string;
  organization_id?: string;
  /** Only the keys a caller may see (absent: all). */
  scope?: OwnerScope;
  sort_order: 'asc' | 'desc';
}

export interface KeyPageQuery {
  dialect: 'sqlite' | 'postgres';
  /** A key alias prefix, a key name (`sk-...abcd`), or a whole key. */
  search?: string;
  status?: 'all' | 'active' | 'blocked' | 'expired';
  /** The cursor of the previous page's last key. */
  after?: { created_at: string; token: string };
  limit: number;
  now: string;
  /** Only the keys a caller may see (absent: all). */
  scope?: OwnerScope;
}

/**
 * A page of keys, newest first, by keyset (no OFFSET: a page costs the same wherever it is, read from
 * the (created_at, token) index). Exported so that tests can check the plan.
 */
export function keyPageSql(q: KeyPageQuery, tokenOf: (raw: string) => string): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const s = q.search?.trim();
  if (s) {
    if (s.startsWith('sk-...')) {
      where.push('key_name = ?');
      params.push(s);
    } else if (/^[0-9a-f]{64}$/.test(s)) {
      // A key's hash (the dashboard hashes a pasted key before it goes into a URL).
      where.push('token = ?');
      params.push(s);
    } else if (s.startsWith('sk-') && s.length >= 30) {
      where.push('token = ?');
      params.push(tokenOf(s));
    } else {
      // A prefix as a range of code points (up to the prefix with its last character incremented),
      // read from the alias index; PostgreSQL compares in code point order through its "C" index,
      // since language collations put "Prod-x" after "prod" and "team-x" after "team.".
      const col = q.dialect === 'postgres' ? 'key_alias COLLATE "C"' : 'key_alias';
      const chars = [...s];
      const last = chars.pop()!.codePointAt(0)!;
      where.push(`${col} >= ? AND ${col} < ?`);
      params.push(s, chars.join('') + String.fromCodePoint(last + (last === 0xd7ff ? 0x801 : 1)));
    }
  }
  if (q.status === 'blocked') where.push('blocked = 1');
  else if (q.status === 'active') {
    where.push('blocked = 0 AND (expires IS NULL OR expires > ?)');
    params.push(q.now);
  } else if (q.status === 'expired') {
    where.push('expires <= ?');
    params.push(q.now);
  }
  if (q.scope) {
    const c = scopeClause(q.scope, { user: 'user_id', token: 'token', team: 'team_id', org: 'organization_id' });
    where.push(c.sql);
    params.push(...c.params);
  }
  if (q.after) {
    // A row value, which both databases turn into a seek in the (created_at, token) index.
    where.push('(created_at, token) < (?, ?)');
    params.push(q.after.created_at, q.after.token);
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT * FROM llmproxy_keys ${clause} ORDER BY created_at DESC, token DESC LIMIT ?`, params: [...params, q.limit] };
}

export class KeyRepo {
  private readonly db: Queryable & { readonly dialect: KeyPageQuery['dialect'] };

  constructor(db: Queryable & { readonly dialect: KeyPageQuery['dialect'] }) {
    this.db = db;
  }

  async insert(k: KeyRecord): Promise<void> {
    await insertRow(this.db, KEYS, k);
  }

  async get(token: string): Promise<KeyRecord | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_keys WHERE token = ?', [token]);
    return row ? fromKeyRow(row) : undefined;
  }

  async getByAlias(alias: string): Promise<KeyRecord | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_keys WHERE key_alias = ?', [alias]);
    return row ? fromKeyRow(row) : undefined;
  }

  /** Updates the given fields (a new `token` too, for regeneration); returns the new record. */
  async update(token: string, changes: Partial<KeyRecord>): Promise<KeyRecord | undefined> {
    await updateRow(this.db, KEYS, { token }, changes);
    return this.get(changes.token ?? token);
  }

  /** Keys whose budget period has ended at `now`. */
  async dueForReset(now: string): Promise<KeyRecord[]> {
    const rows = await this.db.all('SELECT * FROM llmproxy_keys WHERE budget_reset_at IS NOT NULL AND budget_reset_at <= ?', [now]);
    return rows.map(fromKeyRow);
  }

  /** Starts a new budget period, unless another writer already did (compare-and-set on the reset time). */
  async resetBudget(token: string, expectedResetAt: string, periodStart: string, nextResetAt: string): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE llmproxy_keys SET spend_nanos = 0, budget_period_start = ?, budget_reset_at = ? WHERE token = ? AND budget_reset_at = ?',
      [periodStart, nextResetAt, token, expectedResetAt],
    );
    return r.changes === 1;
  }

  /** The hashes of the keys of these teams, users or organizations (for the cascades of a deletion). */
  async tokensOf(col: 'team_id' | 'user_id' | 'organization_id', ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.all<{ token: string }>(`SELECT token FROM llmproxy_keys WHERE ${col} IN (${placeholders(ids.length)})`, ids);
    return rows.map((r) => r.token);
  }

  /** How many keys each of these users (or teams) has. */
  async countBy(col: 'user_id' | 'team_id', ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.all<{ id: string; n: number }>(
      `SELECT ${col} AS id, COUNT(*) AS n FROM llmproxy_keys WHERE ${col} IN (${placeholders(ids.length)}) GROUP BY ${col}`,
      ids,
    );
    return new Map(rows.map((r) => [r.id, Number(r.n)]));
  }

  async delete(tokens: string[]): Promise<number> {
    if (tokens.length === 0) return 0;
    await this.db.run(`DELETE FROM llmproxy_key_model_budgets WHERE token IN (${placeholders(tokens.length)})`, tokens);
    const r = await this.db.run(`DELETE FROM llmproxy_keys WHERE token IN (${placeholders(tokens.length)})`, tokens);
    return r.changes;
  }

  async page(q: Omit<KeyPageQuery, 'dialect'>, tokenOf: (raw: string) => string): Promise<KeyRecord[]> {
    const { sql, params } = keyPageSql({ ...q, dialect: this.db.dialect }, tokenOf);
    return (await this.db.all(sql, params)).map(fromKeyRow);
  }

  async list(q: KeyListQuery): Promise<{ keys: KeyRecord[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    for (const [col, v] of [['user_id', q.user_id], ['team_id', q.team_id], ['key_alias', q.key_alias], ['token', q.key_hash], ['organization_id', q.organization_id]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    if (q.scope) {
      const s = scopeClause(q.scope, { user: 'user_id', token: 'token', team: 'team_id', org: 'organization_id' });
      where.push(s.sql);
      params.push(...s.params);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_keys ${clause}`, params))?.n ?? 0);
    const dir = q.sort_order === 'asc' ? 'ASC' : 'DESC';
    const rows = await this.db.all(
      `SELECT * FROM llmproxy_keys ${clause} ORDER BY created_at ${dir}, token ${dir} LIMIT ? OFFSET ?`,
      [...params, q.size, (q.page - 1) * q.size],
    );
    return { keys: rows.map(fromKeyRow), total };
  }
}
