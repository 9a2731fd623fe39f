// Reports from the ledger: spend logs (filtered, paginated, newest first) and totals.
import type { Queryable, SqlValue } from './db.ts';
import { scopeClause, type OwnerScope } from './rows.ts';

export interface SpendLogQuery {
  request_id?: string;
  /** A key's hash, or null for the master key's calls. */
  key_token?: string | null;
  user_id?: string;
  team_id?: string;
  organization_id?: string;
  /** The customer (end user). */
  end_user?: string;
  /** Only the records a caller may see (absent: all). */
  scope?: OwnerScope;
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
  organization_id: string | null;
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
  cache_hit: number;
}

export async function querySpendLogs(db: Queryable, q: SpendLogQuery): Promise<{ rows: SpendLogRow[]; total: number }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (q.request_id !== undefined) {
    where.push('(request_id = ? OR upstream_id = ?)');
    params.push(q.request_id, q.request_id);
  }
  if (q.key_token === null) where.push('key_token IS NULL');
  for (const [col, v] of [
    ['key_token', q.key_token ?? undefined], ['user_id', q.user_id], ['team_id', q.team_id], ['organization_id', q.organization_id],
    ['end_user', q.end_user], ['status', q.status],
  ] as const) {
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
  if (q.scope) {
    const s = scopeClause(q.scope, { user: 'user_id', token: 'key_token', team: 'team_id', org: 'organization_id' });
    where.push(s.sql);
    params.push(...s.params);
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

export interface UsageQuery {
  /** ISO times; the range is [start, end). */
  start: string;
  end: string;
  bucket: 'hour' | 'day';
  /** Only the calls of the keys a caller may see (absent: every call, the master key's too). */
  scope?: OwnerScope;
}

export interface UsageSums {
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cost_nanos: number;
}

export interface UsageReport {
  series: (UsageSums & { t: string })[];
  byModel: (UsageSums & { model_group: string })[];
  /** The top spenders; `key_token` is '' for the master key. */
  byKey: (UsageSums & { key_token: string })[];
  totals: UsageSums;
}

const SUMS = `SUM(requests) AS requests, SUM(errors) AS errors,
  SUM(input_tokens + cache_read_tokens + cache_write_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
  SUM(cost_nanos) AS cost_nanos`;

/** PostgreSQL's SUM of BIGINT is NUMERIC, read as a string: every sum as a number. */
function sums<T extends Record<string, unknown>>(row: T): T & UsageSums {
  const out: Record<string, unknown> = { ...row };
  for (const k of ['requests', 'errors', 'input_tokens', 'output_tokens', 'cost_nanos']) out[k] = Number(row[k] ?? 0);
  return out as T & UsageSums;
}

/** Spend, tokens and requests over time, by model group and by key, from the hourly rollup. */
export async function usageReport(db: Queryable, q: UsageQuery, topKeys = 10): Promise<UsageReport> {
  const t = q.bucket === 'day' ? 'substr(hour, 1, 10)' : 'hour';
  let range = 'FROM llmproxy_spend_hourly WHERE hour >= ? AND hour < ?';
  const params: SqlValue[] = [q.start, q.end];
  if (q.scope) {
    const c = scopeClause(q.scope, { user: 'user_id', token: 'token', team: 'team_id', org: 'organization_id' });
    range += ` AND key_token IN (SELECT token FROM llmproxy_keys WHERE ${c.sql})`;
    params.push(...c.params);
  }
  const [series, byModel, byKey, totals] = await Promise.all([
    db.all<{ t: string }>(`SELECT ${t} AS t, ${SUMS} ${range} GROUP BY ${t} ORDER BY 1`, params),
    db.all<{ model_group: string }>(`SELECT model_group, ${SUMS} ${range} GROUP BY model_group ORDER BY 6 DESC`, params),
    db.all<{ key_token: string }>(`SELECT key_token, ${SUMS} ${range} GROUP BY key_token ORDER BY 6 DESC LIMIT ?`, [...params, topKeys]),
    db.get<Record<string, unknown>>(`SELECT ${SUMS} ${range}`, params),
  ]);
  return { series: series.map(sums), byModel: byModel.map(sums), byKey: byKey.map(sums), totals: sums(totals ?? {}) };
}
