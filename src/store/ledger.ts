// Writing spend records exactly once: each record is inserted keyed by its request id, and only the
// records actually inserted add their cost to the keys' spend and to the hourly rollup, all in one
// transaction. Per-entity sums are applied in a fixed order so concurrent writers cannot deadlock.
import type { SpendRecord } from '../metering/record.ts';
import type { SqlConnection } from './db.ts';

const COLUMNS = `request_id, upstream_id, key_token, user_id, team_id, end_user, model_group, deployment_id, provider, model,
  call_type, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
  reasoning_tokens, cost_nanos, status, http_status, error_type, stream, latency_ms, ttft_ms, estimated, tags, started_at`;
const ROW = `(${Array.from({ length: 27 }, () => '?').join(', ')})`;
/** Rows per INSERT statement: far fewer statements, well under SQLite's limit of bound values. */
const CHUNK = 100;

function insertSql(rows: number): string {
  return `INSERT INTO llmproxy_spend_logs (${COLUMNS}) VALUES ${Array.from({ length: rows }, () => ROW).join(', ')}
ON CONFLICT (request_id) DO NOTHING RETURNING request_id`;
}

const ROLLUP = `INSERT INTO llmproxy_spend_hourly (hour, key_token, model_group, requests, errors, input_tokens,
  cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour, key_token, model_group) DO UPDATE SET
  requests = llmproxy_spend_hourly.requests + excluded.requests,
  errors = llmproxy_spend_hourly.errors + excluded.errors,
  input_tokens = llmproxy_spend_hourly.input_tokens + excluded.input_tokens,
  cache_read_tokens = llmproxy_spend_hourly.cache_read_tokens + excluded.cache_read_tokens,
  cache_write_tokens = llmproxy_spend_hourly.cache_write_tokens + excluded.cache_write_tokens,
  output_tokens = llmproxy_spend_hourly.output_tokens + excluded.output_tokens,
  reasoning_tokens = llmproxy_spend_hourly.reasoning_tokens + excluded.reasoning_tokens,
  cost_nanos = llmproxy_spend_hourly.cost_nanos + excluded.cost_nanos`;

export interface AppliedBatch {
  inserted: number;
  /** Cost added per key token by this batch. */
  keySpend: Map<string, number>;
}

export async function applyLedger(conn: SqlConnection, records: SpendRecord[]): Promise<AppliedBatch> {
  return conn.transaction(async (db) => {
    const keySpend = new Map<string, number>();
    const rollup = new Map<string, { hour: string; key: string; group: string; n: number[] }>();
    const insertedIds = new Set<string>();
    // A batch may repeat a request id (a journal replayed twice): the first one counts.
    const firsts = new Map<string, SpendRecord>();
    for (const r of records) if (!firsts.has(r.request_id)) firsts.set(r.request_id, r);
    const unique = [...firsts.values()];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      const params = chunk.flatMap((r) => {
        const u = r.usage;
        return [
          r.request_id, r.upstream_id, r.key_token, r.user_id, r.team_id, r.end_user, r.model_group, r.deployment_id,
          r.provider, r.model, r.call_type, u.input, u.cacheRead, u.cacheWrite, u.cacheWrite1h, u.output, u.reasoning,
          r.cost_nanos, r.status, r.http_status, r.error_type, r.stream ? 1 : 0, r.latency_ms, r.ttft_ms,
          u.estimated ? 1 : 0, JSON.stringify(r.tags), r.started_at,
        ];
      });
      for (const row of await db.all<{ request_id: string }>(insertSql(chunk.length), params)) insertedIds.add(row.request_id);
    }
    let inserted = 0;
    for (const r of unique) {
      if (!insertedIds.has(r.request_id)) continue;
      const u = r.usage;
      inserted++;
      if (r.key_token && r.cost_nanos) keySpend.set(r.key_token, (keySpend.get(r.key_token) ?? 0) + r.cost_nanos);
      const hour = `${r.started_at.slice(0, 13)}:00:00Z`;
      const k = `${hour}\u0000${r.key_token ?? ''}\u0000${r.model_group}`;
      const agg = rollup.get(k) ?? { hour, key: r.key_token ?? '', group: r.model_group, n: [0, 0, 0, 0, 0, 0, 0, 0] };
      const add = [1, r.status === 'error' ? 1 : 0, u.input, u.cacheRead, u.cacheWrite + u.cacheWrite1h, u.output, u.reasoning, r.cost_nanos];
      add.forEach((v, i) => (agg.n[i]! += v));
      rollup.set(k, agg);
    }
    // A request admitted before a budget reset is paid by the period that admitted it.
    for (const token of [...keySpend.keys()]) {
      const k = await db.get<{ start: string | null }>('SELECT budget_period_start AS start FROM llmproxy_keys WHERE token = ?', [token]);
      if (k?.start) {
        const inPeriod = unique.filter((r) => r.key_token === token && r.started_at >= k.start! && insertedIds.has(r.request_id));
        keySpend.set(token, inPeriod.reduce((s, r) => s + r.cost_nanos, 0));
      }
    }
    for (const token of [...keySpend.keys()].sort()) {
      await db.run('UPDATE llmproxy_keys SET spend_nanos = spend_nanos + ? WHERE token = ?', [keySpend.get(token)!, token]);
    }
    for (const k of [...rollup.keys()].sort()) {
      const a = rollup.get(k)!;
      await db.run(ROLLUP, [a.hour, a.key, a.group, ...a.n]);
    }
    return { inserted, keySpend };
  });
}
