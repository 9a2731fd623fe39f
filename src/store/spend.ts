// Reports from the ledger: spend logs (filtered, paginated, newest first) and totals.
import type { Queryable, SqlValue } from './db.ts';

export interface SpendLogQuery {
  request_id?: string;
  key_token?: string;
  user_id?: string;
  model?: string;
  status?: string;
  start_date?: string;
  end_date?: string;
  page: number;
  page_size: number;
}

export interface SpendLogRow {
  request_id: string;
  upstream_id: string | null;
  key_token: string | null;
  user_id: string | null;
  team_id: string | null;
  end_user: string | null;
  model_group: string;
  deployment_id: string | null;
  provider: string | null;
  model: string | null;
  call_type: string;
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_nanos: number;
  status: string;
  http_status: number;
  error_type: string | null;
  stream: number;
  latency_ms: number;
  ttft_ms: number | null;
  estimated: number;
  tags: string;
  started_at: string;
}

export async function querySpendLogs(db: Queryable, q: SpendLogQuery): Promise<{ rows: SpendLogRow[]; total: number }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (q.request_id !== undefined) {
    where.push('(request_id = ? OR upstream_id = ?)');
    params.push(q.request_id, q.request_id);
  }
  for (const [col, v] of [['key_token', q.key_token], ['user_id', q.user_id], ['status', q.status]] as const) {
    if (v !== undefined) {
      where.push(`${col} = ?`);
      params.push(v);
    }
  }
  if (q.model !== undefined) {
    where.push('(model_group = ? OR model = ?)');
    params.push(q.model, q.model);
  }
  if (q.start_date !== undefined) {
    where.push('started_at >= ?');
    params.push(q.start_date);
  }
  if (q.end_date !== undefined) {
    where.push('started_at < ?');
    params.push(q.end_date);
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_spend_logs ${clause}`, params))?.n ?? 0);
  const rows = await db.all<SpendLogRow>(
    `SELECT * FROM llmproxy_spend_logs ${clause} ORDER BY started_at DESC, request_id DESC LIMIT ? OFFSET ?`,
    [...params, q.page_size, (q.page - 1) * q.page_size],
  );
  return { rows, total };
}

/** All-time spend, as a BigInt (a global total can pass 2^53 nano-dollars). */
export async function globalSpendNanos(db: Queryable): Promise<bigint> {
  const r = await db.get<{ n: number | bigint | null }>('SELECT SUM(cost_nanos) AS n FROM llmproxy_spend_hourly');
  return BigInt(r?.n ?? 0);
}

/** Deletes spend logs older than `before` (ISO time); the hourly rollup is kept. */
export async function pruneSpendLogs(db: Queryable, before: string): Promise<number> {
  return (await db.run('DELETE FROM llmproxy_spend_logs WHERE started_at < ?', [before])).changes;
}
