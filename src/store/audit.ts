// The audit log: one row per management write (who, with which role, what, before and after).
// Values are stored as the API shows them, with secrets already removed by the caller.
import type { Queryable, SqlValue } from './db.ts';

export interface AuditRecord {
  id: string;
  changed_at: string;
  /** The acting user's id, or `master_key`. */
  changed_by: string;
  changed_by_role: string;
  /** The acting key's hash (never the key itself); null for the master key and dashboard sessions. */
  changed_by_api_key: string | null;
  /** created, updated, deleted, blocked, unblocked, ... */
  action: string;
  route: string;
  /** LiteLLM's table names: LiteLLM_VerificationToken, LiteLLM_UserTable, LiteLLM_TeamTable, ... */
  table_name: string;
  object_id: string;
  before_value: Record<string, unknown> | null;
  updated_values: Record<string, unknown> | null;
}

export interface AuditQuery {
  table_name?: string;
  object_id?: string;
  changed_by?: string;
  action?: string;
  /** ISO times; [start, end). */
  start_date?: string;
  end_date?: string;
  page: number;
  page_size: number;
}

type Row = Omit<AuditRecord, 'before_value' | 'updated_values'> & { before_value: string | null; updated_values: string | null };

function parse(r: Row): AuditRecord {
  return {
    ...r,
    before_value: r.before_value === null ? null : JSON.parse(r.before_value),
    updated_values: r.updated_values === null ? null : JSON.parse(r.updated_values),
  };
}

export class AuditRepo {
  private readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  async insert(r: AuditRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO llmproxy_audit_log (id, changed_at, changed_by, changed_by_role, changed_by_api_key, action, route, table_name,
        object_id, before_value, updated_values) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.id, r.changed_at, r.changed_by, r.changed_by_role, r.changed_by_api_key, r.action, r.route, r.table_name, r.object_id,
        r.before_value === null ? null : JSON.stringify(r.before_value),
        r.updated_values === null ? null : JSON.stringify(r.updated_values),
      ],
    );
  }

  async get(id: string): Promise<AuditRecord | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM llmproxy_audit_log WHERE id = ?', [id]);
    return r ? parse(r) : undefined;
  }

  /** Newest first. */
  async list(q: AuditQuery): Promise<{ rows: AuditRecord[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    for (const [col, v] of [['table_name', q.table_name], ['object_id', q.object_id], ['changed_by', q.changed_by], ['action', q.action]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    if (q.start_date !== undefined) {
      where.push('changed_at >= ?');
      params.push(q.start_date);
    }
    if (q.end_date !== undefined) {
      where.push('changed_at < ?');
      params.push(q.end_date);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_audit_log ${clause}`, params))?.n ?? 0);
    const rows = await this.db.all<Row>(`SELECT * FROM llmproxy_audit_log ${clause} ORDER BY changed_at DESC, id DESC LIMIT ? OFFSET ?`, [
      ...params,
      q.page_size,
      (q.page - 1) * q.page_size,
    ]);
    return { rows: rows.map(parse), total };
  }
}
