// Repository of virtual keys. Field names follow LiteLLM's API; money is integer nano-dollars.
import type { Queryable, SqlValue } from './db.ts';

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
  blocked: boolean;
  /** Other LiteLLM key fields, kept as given. */
  extra: Record<string, unknown>;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

const JSON_COLUMNS = new Set(['models', 'aliases', 'metadata', 'tags', 'model_rpm_limit', 'model_tpm_limit', 'extra']);
const COLUMNS = [
  'token', 'key_name', 'key_alias', 'models', 'aliases', 'metadata', 'tags', 'user_id', 'team_id', 'spend_nanos',
  'max_budget_nanos', 'soft_budget_nanos', 'budget_duration', 'budget_reset_at', 'budget_period_start', 'expires', 'tpm_limit', 'rpm_limit',
  'max_parallel_requests', 'model_rpm_limit', 'model_tpm_limit', 'blocked', 'extra', 'created_by', 'updated_by',
  'created_at', 'updated_at',
] as const satisfies readonly (keyof KeyRecord)[];

function toRow(k: Partial<KeyRecord>): Record<string, SqlValue> {
  const row: Record<string, SqlValue> = {};
  for (const [col, v] of Object.entries(k)) {
    if (v === undefined) continue;
    if (JSON_COLUMNS.has(col)) row[col] = v === null ? null : JSON.stringify(v);
    else if (col === 'blocked') row[col] = v ? 1 : 0;
    else row[col] = v as SqlValue;
  }
  return row;
}

function fromRow(row: Record<string, unknown>): KeyRecord {
  const out: Record<string, unknown> = {};
  for (const col of COLUMNS) {
    const v = row[col];
    if (JSON_COLUMNS.has(col)) out[col] = v == null ? null : JSON.parse(String(v));
    else if (col === 'blocked') out[col] = Number(v) === 1;
    else if (typeof v === 'bigint') out[col] = Number(v);
    else out[col] = v ?? null;
  }
  const k = out as unknown as KeyRecord;
  k.models ??= [];
  k.aliases ??= {};
  k.metadata ??= {};
  k.extra ??= {};
  return k;
}

export interface KeyListQuery {
  page: number;
  size: number;
  user_id?: string;
  team_id?: string;
  key_alias?: string;
  key_hash?: string;
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
    const row = toRow(k);
    const cols = Object.keys(row);
    await this.db.run(
      `INSERT INTO llmproxy_keys (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => row[c]!),
    );
  }

  async get(token: string): Promise<KeyRecord | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_keys WHERE token = ?', [token]);
    return row ? fromRow(row) : undefined;
  }

  async getByAlias(alias: string): Promise<KeyRecord | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_keys WHERE key_alias = ?', [alias]);
    return row ? fromRow(row) : undefined;
  }

  /** Updates the given fields (a new `token` too, for regeneration); returns the new record. */
  async update(token: string, changes: Partial<KeyRecord>): Promise<KeyRecord | undefined> {
    const row = toRow(changes);
    const cols = Object.keys(row);
    if (cols.length > 0) {
      await this.db.run(`UPDATE llmproxy_keys SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE token = ?`, [
        ...cols.map((c) => row[c]!),
        token,
      ]);
    }
    return this.get(changes.token ?? token);
  }

  /** Keys whose budget period has ended at `now`. */
  async dueForReset(now: string): Promise<KeyRecord[]> {
    const rows = await this.db.all('SELECT * FROM llmproxy_keys WHERE budget_reset_at IS NOT NULL AND budget_reset_at <= ?', [now]);
    return rows.map(fromRow);
  }

  /** Starts a new budget period, unless another writer already did (compare-and-set on the reset time). */
  async resetBudget(token: string, expectedResetAt: string, periodStart: string, nextResetAt: string): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE llmproxy_keys SET spend_nanos = 0, budget_period_start = ?, budget_reset_at = ? WHERE token = ? AND budget_reset_at = ?',
      [periodStart, nextResetAt, token, expectedResetAt],
    );
    return r.changes === 1;
  }

  async delete(tokens: string[]): Promise<number> {
    if (tokens.length === 0) return 0;
    const r = await this.db.run(`DELETE FROM llmproxy_keys WHERE token IN (${tokens.map(() => '?').join(', ')})`, tokens);
    return r.changes;
  }

  async page(q: Omit<KeyPageQuery, 'dialect'>, tokenOf: (raw: string) => string): Promise<KeyRecord[]> {
    const { sql, params } = keyPageSql({ ...q, dialect: this.db.dialect }, tokenOf);
    return (await this.db.all(sql, params)).map(fromRow);
  }

  async list(q: KeyListQuery): Promise<{ keys: KeyRecord[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    for (const [col, v] of [['user_id', q.user_id], ['team_id', q.team_id], ['key_alias', q.key_alias], ['token', q.key_hash]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_keys ${clause}`, params))?.n ?? 0);
    const dir = q.sort_order === 'asc' ? 'ASC' : 'DESC';
    const rows = await this.db.all(
      `SELECT * FROM llmproxy_keys ${clause} ORDER BY created_at ${dir}, token ${dir} LIMIT ? OFFSET ?`,
      [...params, q.size, (q.page - 1) * q.size],
    );
    return { keys: rows.map(fromRow), total };
  }
}
