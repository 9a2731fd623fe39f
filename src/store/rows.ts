// Records to rows and back, for the repositories: JSON columns are text, booleans are 0/1, BIGINT
// columns come back as numbers (PostgreSQL's are parsed in postgres.ts, SQLite's may be bigint).
import type { Queryable, SqlValue } from './db.ts';

/** The budget and limits users and teams carry themselves (keys too, beside their own fields). */
export interface InlineBudget {
  spend_nanos: number;
  max_budget_nanos: number | null;
  soft_budget_nanos: number | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  /** Start of the current budget period: spend of requests started before it is not counted. */
  budget_period_start: string | null;
  tpm_limit: number | null;
  rpm_limit: number | null;
  max_parallel_requests: number | null;
  model_max_budget: Record<string, unknown> | null;
}

export interface TableSpec<T> {
  table: string;
  /** Every column, in the record's field names. */
  columns: readonly (keyof T & string)[];
  json: ReadonlySet<string>;
  bools: ReadonlySet<string>;
  /** Defaults for JSON columns read back as NULL. */
  defaults?: Partial<Record<keyof T & string, unknown>>;
}

export function toRow<T>(spec: TableSpec<T>, record: Partial<T>): Record<string, SqlValue> {
  const row: Record<string, SqlValue> = {};
  for (const [col, v] of Object.entries(record)) {
    if (v === undefined || !spec.columns.includes(col as keyof T & string)) continue;
    if (spec.json.has(col)) row[col] = v === null ? null : JSON.stringify(v);
    else if (spec.bools.has(col)) row[col] = v ? 1 : 0;
    else row[col] = v as SqlValue;
  }
  return row;
}

export function fromRow<T>(spec: TableSpec<T>, row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const col of spec.columns) {
    const v = row[col];
    if (spec.json.has(col)) out[col] = v == null ? (spec.defaults?.[col] ?? null) : JSON.parse(String(v));
    else if (spec.bools.has(col)) out[col] = Number(v) === 1;
    else if (typeof v === 'bigint') out[col] = Number(v);
    else out[col] = v ?? null;
  }
  return out as T;
}

export async function insertRow<T>(db: Queryable, spec: TableSpec<T>, record: Partial<T>): Promise<void> {
  const row = toRow(spec, record);
  const cols = Object.keys(row);
  await db.run(`INSERT INTO ${spec.table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, cols.map((c) => row[c]!));
}

/** Updates the given fields of the rows matching `where` (column = value for each entry). */
export async function updateRow<T>(db: Queryable, spec: TableSpec<T>, where: Record<string, SqlValue>, changes: Partial<T>): Promise<number> {
  const row = toRow(spec, changes);
  const cols = Object.keys(row);
  if (cols.length === 0) return 0;
  const keys = Object.keys(where);
  const r = await db.run(
    `UPDATE ${spec.table} SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE ${keys.map((k) => `${k} = ?`).join(' AND ')}`,
    [...cols.map((c) => row[c]!), ...keys.map((k) => where[k]!)],
  );
  return r.changes;
}

/** `(?, ?, ?)` for an IN list. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** Rows a caller may see when not everything: their own, their teams' and their organizations'. */
export interface OwnerScope {
  userId: string | null;
  keyToken: string | null;
  teams: string[];
  orgs: string[];
}

/**
 * The WHERE condition for an OwnerScope over a table's columns. A row of a team of one of the
 * organizations counts as the organization's.
 */
export function scopeClause(
  scope: OwnerScope,
  cols: { user: string; token?: string; team: string; org: string },
): { sql: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (scope.userId !== null) {
    parts.push(`${cols.user} = ?`);
    params.push(scope.userId);
  }
  if (scope.keyToken !== null && cols.token) {
    parts.push(`${cols.token} = ?`);
    params.push(scope.keyToken);
  }
  if (scope.teams.length) {
    parts.push(`${cols.team} IN (${placeholders(scope.teams.length)})`);
    params.push(...scope.teams);
  }
  if (scope.orgs.length) {
    const list = placeholders(scope.orgs.length);
    parts.push(`${cols.org} IN (${list})`, `${cols.team} IN (SELECT team_id FROM llmproxy_teams WHERE organization_id IN (${list}))`);
    params.push(...scope.orgs, ...scope.orgs);
  }
  return { sql: parts.length ? `(${parts.join(' OR ')})` : '1 = 0', params };
}

/** The operations every entity table has, by its id column. */
export class EntityRepo<T> {
  protected readonly db: Queryable;
  protected readonly spec: TableSpec<T>;
  private readonly idCol: keyof T & string;

  constructor(db: Queryable, spec: TableSpec<T>, idCol: keyof T & string) {
    this.db = db;
    this.spec = spec;
    this.idCol = idCol;
  }

  protected read = (row: Record<string, unknown>): T => fromRow(this.spec, row);

  insert(record: T): Promise<void> {
    return insertRow(this.db, this.spec, record);
  }

  async get(id: string): Promise<T | undefined> {
    const row = await this.db.get(`SELECT * FROM ${this.spec.table} WHERE ${this.idCol} = ?`, [id]);
    return row ? this.read(row) : undefined;
  }

  async getMany(ids: string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    return (await this.db.all(`SELECT * FROM ${this.spec.table} WHERE ${this.idCol} IN (${placeholders(ids.length)})`, ids)).map(this.read);
  }

  /** Updates the given fields; returns the record after the change. */
  async update(id: string, changes: Partial<T>): Promise<T | undefined> {
    await updateRow(this.db, this.spec, { [this.idCol]: id }, changes);
    return this.get(id);
  }

  async delete(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.db.run(`DELETE FROM ${this.spec.table} WHERE ${this.idCol} IN (${placeholders(ids.length)})`, ids)).changes;
  }
}

/** A table whose rows have a budget period (`budget_duration`, `budget_reset_at`, `budget_period_start`). */
export class BudgetedRepo<T> extends EntityRepo<T> {
  private readonly key: keyof T & string;

  constructor(db: Queryable, spec: TableSpec<T>, idCol: keyof T & string) {
    super(db, spec, idCol);
    this.key = idCol;
  }

  /** Rows whose budget period has ended at `now`. */
  async dueForReset(now: string): Promise<T[]> {
    return (await this.db.all(`SELECT * FROM ${this.spec.table} WHERE budget_reset_at IS NOT NULL AND budget_reset_at <= ?`, [now])).map(this.read);
  }

  /** Starts a new budget period, unless another writer already did (compare-and-set on the reset time). */
  async resetBudget(id: string, expectedResetAt: string, periodStart: string, nextResetAt: string): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE ${this.spec.table} SET spend_nanos = 0, budget_period_start = ?, budget_reset_at = ? WHERE ${this.key} = ? AND budget_reset_at = ?`,
      [periodStart, nextResetAt, id, expectedResetAt],
    );
    return r.changes === 1;
  }
}
