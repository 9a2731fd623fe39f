// Writing spend records exactly once: each record is inserted keyed by its request id, and only the
// records actually inserted add their cost to the spend of their key, user, team, organization,
// customer and memberships, and to the hourly rollups, all in one transaction. Per-entity sums are
// applied in a fixed order so concurrent writers cannot deadlock.
import type { SpendRecord } from '../metering/record.ts';
import { runAll, type Queryable, type SqlConnection, type SqlValue, type Statement } from './db.ts';
import { scopeOf } from './scopes.ts';
import { keyModelRef } from './key-models.ts';

const COLUMNS = `request_id, upstream_id, key_token, user_id, team_id, organization_id, end_user, model_group, deployment_id, provider,
  model, call_type, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
  reasoning_tokens, cost_nanos, status, http_status, error_type, stream, latency_ms, ttft_ms, estimated, tags, started_at, cache_hit`;
const ROW = `(${Array.from({ length: 29 }, () => '?').join(', ')})`;
/** Rows per INSERT statement: far fewer statements, well under SQLite's limit of bound values. */
const CHUNK = 100;

function insertSql(rows: number): string {
  return `INSERT INTO llmproxy_spend_logs (${COLUMNS}) VALUES ${Array.from({ length: rows }, () => ROW).join(', ')}
ON CONFLICT (request_id) DO NOTHING RETURNING request_id`;
}

const SUMS = ['requests', 'errors', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'cost_nanos'];
const ADD_SUMS = SUMS.map((c) => `${c} = {t}.${c} + excluded.${c}`).join(', ');

/** Rows per rollup upsert: a batch of many keys (an import's history) is a few statements, not one a row. */
const ROLLUP_CHUNK = 100;

function upsertSql(table: string, keyCols: string[], rows: number): string {
  const cols = [...keyCols, ...SUMS];
  const row = `(${cols.map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}
ON CONFLICT (${keyCols.join(', ')}) DO UPDATE SET ${ADD_SUMS.replaceAll('{t}', table)}`;
}

const ROLLUP_KEYS = {
  llmproxy_spend_hourly: ['hour', 'key_token', 'model_group'],
  llmproxy_spend_entity_hourly: ['hour', 'entity_kind', 'entity_id', 'model_group'],
};

/**
 * Statements adding sums to rollup rows, each row its key columns then the sums (requests, errors,
 * input, cache read, cache write, output, reasoning tokens, cost), one key once, in the given order:
 * sorted, so that concurrent writers lock rows alike.
 */
export function rollupStatements(table: keyof typeof ROLLUP_KEYS, rows: SqlValue[][]): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < rows.length; i += ROLLUP_CHUNK) {
    const chunk = rows.slice(i, i + ROLLUP_CHUNK);
    out.push({ sql: upsertSql(table, ROLLUP_KEYS[table], chunk.length), params: chunk.flat() });
  }
  return out;
}

export interface AppliedBatch {
  inserted: number;
  /** Cost added per key token by this batch. */
  keySpend: Map<string, number>;
  /**
   * Cost added to each entity's spend in the database by this batch, by scope (`user:ID`, `team:ID`,
   * `org:ID`, `customer:ID`, `member:TEAM:USER`, `org_member:ORG:USER`).
   */
  entitySpend: Map<string, number>;
  /**
   * The cost of this batch's new records by the same scopes in the entity's current budget period,
   * whether or not a row took it (an entity that does not exist): what the live counters release.
   * Records of a period since reset are left out, as for keys: the reset dropped their live spend.
   */
  entityCost: Map<string, number>;
}

export interface LedgerOptions {
  /** Customers not known yet are created with their first spend (litellm_settings.disable_end_user_cost_tracking turns it off). */
  createCustomers: boolean;
  /** The user row every call's spend is added to as well (the proxy's budget, policy/proxy-budget.ts); null: none. */
  proxyBudgetUser?: string | null;
  /**
   * Records of spend already counted in the entities' spend (history brought over by an import):
   * inserted and rolled up, added to nobody's spend.
   */
  history?: boolean;
}

/**
 * Where each kind of spend goes: the table, its id columns and the record's ids for them (one list of
 * ids per row: a record has several tags). `period`:
 * where the row's budget period is kept, its own columns (`own`) or its shared budget's (`shared`); a
 * record started before the period began was paid by the period that admitted it.
 */
const TARGETS: { scope: string; table: string; ids: string[]; of: (r: SpendRecord) => string[][]; period: 'own' | 'shared' }[] = [
  { scope: 'user', table: 'llmproxy_users', ids: ['user_id'], of: (r) => (r.user_id ? [[r.user_id]] : []), period: 'own' },
  { scope: 'team', table: 'llmproxy_teams', ids: ['team_id'], of: (r) => (r.team_id ? [[r.team_id]] : []), period: 'own' },
  { scope: 'org', table: 'llmproxy_organizations', ids: ['organization_id'], of: (r) => (r.organization_id ? [[r.organization_id]] : []), period: 'shared' },
  { scope: 'customer', table: 'llmproxy_customers', ids: ['user_id'], of: (r) => (r.end_user ? [[r.end_user]] : []), period: 'shared' },
  {
    scope: 'member',
    table: 'llmproxy_team_members',
    ids: ['team_id', 'user_id'],
    of: (r) => (r.team_id && r.user_id ? [[r.team_id, r.user_id]] : []),
    period: 'shared',
  },
  {
    scope: 'org_member',
    table: 'llmproxy_org_members',
    ids: ['organization_id', 'user_id'],
    of: (r) => (r.organization_id && r.user_id ? [[r.organization_id, r.user_id]] : []),
    period: 'shared',
  },
  // Each of the record's tags.
  { scope: 'tag', table: 'llmproxy_tags', ids: ['tag_name'], of: (r) => [...new Set(r.tags)].map((t) => [t]), period: 'shared' },
  // The key's budget for the call's model (model_max_budget), one row per key and model.
  { scope: 'key_model', table: 'llmproxy_key_model_budgets', ids: ['ref'], of: (r) => (r.key_token && r.budget_model ? [[keyModelRef(r.key_token, r.budget_model)]] : []), period: 'own' },
];

const USERS = TARGETS.find((t) => t.scope === 'user')!;

/** The entities a record's spend counts for, as the scopes the live counters use. */
export function spendScopes(r: Pick<SpendRecord, 'key_token' | 'user_id' | 'team_id' | 'organization_id' | 'end_user' | 'tags' | 'budget_model'>): string[] {
  const out: string[] = [];
  for (const t of TARGETS) for (const ids of t.of(r as SpendRecord)) out.push(scopeOf(t.scope, ids));
  return out;
}

/** Records started since the row's budget period began (all of them when it has none). */
async function inPeriod(db: Queryable, table: string, idCols: readonly string[], ids: string[], period: 'own' | 'shared', records: SpendRecord[]): Promise<number> {
  const where = idCols.map((c) => `e.${c} = ?`).join(' AND ');
  const sql =
    period === 'own'
      ? `SELECT e.budget_period_start AS start FROM ${table} e WHERE ${where}`
      : `SELECT b.budget_period_start AS start FROM ${table} e JOIN llmproxy_budgets b ON b.budget_id = e.budget_id WHERE ${where}`;
  const start = (await db.get<{ start: string | null }>(sql, ids))?.start;
  return records.reduce((s, r) => s + (!start || r.started_at >= start ? r.cost_nanos : 0), 0);
}

export async function applyLedger(conn: SqlConnection, records: SpendRecord[], opts: LedgerOptions = { createCustomers: true }): Promise<AppliedBatch> {
  return conn.transaction(async (db) => {
    const rollup = new Map<string, { hour: string; key: string; group: string; n: number[] }>();
    const entityRollup = new Map<string, { hour: string; kind: string; id: string; group: string; n: number[] }>();
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
          r.request_id, r.upstream_id, r.key_token, r.user_id, r.team_id, r.organization_id ?? null, r.end_user, r.model_group,
          r.deployment_id, r.provider, r.model, r.call_type, u.input, u.cacheRead, u.cacheWrite, u.cacheWrite1h, u.output, u.reasoning,
          r.cost_nanos, r.status, r.http_status, r.error_type, r.stream ? 1 : 0, r.latency_ms, r.ttft_ms,
          u.estimated ? 1 : 0, JSON.stringify(r.tags), r.started_at, r.cache_hit ? 1 : 0,
        ];
      });
      for (const row of await db.all<{ request_id: string }>(insertSql(chunk.length), params)) insertedIds.add(row.request_id);
    }
    const inserted = unique.filter((r) => insertedIds.has(r.request_id));
    const add = (agg: { n: number[] }, r: SpendRecord) => {
      const u = r.usage;
      const v = [1, r.status === 'error' ? 1 : 0, u.input, u.cacheRead, u.cacheWrite + u.cacheWrite1h, u.output, u.reasoning, r.cost_nanos];
      v.forEach((x, i) => (agg.n[i]! += x));
    };
    const byKey = new Map<string, SpendRecord[]>();
    /** Records with a cost, by target scope and id. */
    const byEntity = new Map<string, { target: (typeof TARGETS)[number]; ids: string[]; records: SpendRecord[] }>();
    for (const r of inserted) {
      const hour = `${r.started_at.slice(0, 13)}:00:00Z`;
      const k = `${hour}\u0000${r.key_token ?? ''}\u0000${r.model_group}`;
      const agg = rollup.get(k) ?? { hour, key: r.key_token ?? '', group: r.model_group, n: [0, 0, 0, 0, 0, 0, 0, 0] };
      add(agg, r);
      rollup.set(k, agg);
      const entities: [string, string][] = [];
      if (r.user_id) entities.push(['user', r.user_id]);
      if (r.team_id) entities.push(['team', r.team_id]);
      if (r.organization_id) entities.push(['org', r.organization_id]);
      if (r.end_user) entities.push(['customer', r.end_user]);
      for (const tag of new Set(r.tags)) entities.push(['tag', tag]);
      for (const [kind, id] of entities) {
        const ek = `${hour}\u0000${kind}\u0000${id}\u0000${r.model_group}`;
        const e = entityRollup.get(ek) ?? { hour, kind, id, group: r.model_group, n: [0, 0, 0, 0, 0, 0, 0, 0] };
        add(e, r);
        entityRollup.set(ek, e);
      }
      if (opts.history) continue;
      if (r.key_token && r.cost_nanos) {
        const list = byKey.get(r.key_token);
        if (list) list.push(r);
        else byKey.set(r.key_token, [r]);
      }
      for (const target of TARGETS) {
        // (a customer is recorded even when its call cost nothing, so that it is known from then on)
        if (!r.cost_nanos && target.scope !== 'customer') continue;
        for (const ids of target.of(r)) {
          const scope = scopeOf(target.scope, ids);
          const e = byEntity.get(scope);
          if (e) e.records.push(r);
          else byEntity.set(scope, { target, ids, records: [r] });
        }
      }
      const proxy = opts.proxyBudgetUser;
      if (proxy && r.cost_nanos && r.user_id !== proxy) {
        const scope = scopeOf('user', [proxy]);
        const e = byEntity.get(scope);
        if (e) e.records.push(r);
        else byEntity.set(scope, { target: USERS, ids: [proxy], records: [r] });
      }
    }
    const keySpend = new Map<string, number>();
    for (const token of [...byKey.keys()].sort()) {
      const nanos = await inPeriod(db, 'llmproxy_keys', ['token'], [token], 'own', byKey.get(token)!);
      keySpend.set(token, nanos);
      await db.run('UPDATE llmproxy_keys SET spend_nanos = spend_nanos + ? WHERE token = ?', [nanos, token]);
    }
    const entitySpend = new Map<string, number>();
    const entityCost = new Map<string, number>();
    const now = new Date().toISOString();
    for (const scope of [...byEntity.keys()].sort()) {
      const { target, ids, records: rs } = byEntity.get(scope)!;
      const nanos = await inPeriod(db, target.table, target.ids, ids, target.period, rs);
      // What the live counter held for this batch: records of a period since reset were dropped with it.
      if (nanos) entityCost.set(scope, nanos);
      const where = target.ids.map((c) => `${c} = ?`).join(' AND ');
      const r = await db.run(`UPDATE ${target.table} SET spend_nanos = spend_nanos + ? WHERE ${where}`, [nanos, ...ids]);
      // A customer seen for the first time in a call that was answered: tracked from then on (LiteLLM
      // upserts them too). A refused call makes none: a late batch would bring back a deleted customer.
      if (r.changes === 0 && target.scope === 'customer' && opts.createCustomers && rs.some((x) => x.status === 'success' || x.cost_nanos > 0)) {
        await db.run(
          `INSERT INTO llmproxy_customers (user_id, spend_nanos, created_at, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET spend_nanos = llmproxy_customers.spend_nanos + excluded.spend_nanos`,
          [ids[0]!, nanos, now, now],
        );
        if (nanos) entitySpend.set(scope, nanos);
      } else if (r.changes > 0 && nanos) entitySpend.set(scope, nanos);
    }
    const keyRows = [...rollup.keys()].sort().map((k) => {
      const a = rollup.get(k)!;
      return [a.hour, a.key, a.group, ...a.n];
    });
    const entityRows = [...entityRollup.keys()].sort().map((k) => {
      const a = entityRollup.get(k)!;
      return [a.hour, a.kind, a.id, a.group, ...a.n];
    });
    await runAll(db, [...rollupStatements('llmproxy_spend_hourly', keyRows), ...rollupStatements('llmproxy_spend_entity_hourly', entityRows)]);
    return { inserted: inserted.length, keySpend, entitySpend, entityCost };
  });
}
