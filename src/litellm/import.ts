// `llm-proxy import litellm`: a LiteLLM proxy's database into this gateway's, so that its virtual keys
// keep working unchanged (the same sha256 hashes), with their owners, budgets, current spend and history.
//
// Idempotent and resumable: every row written is remembered in llmproxy_imports with a fingerprint of
// its fields and LiteLLM's spend then, in the same transaction as the row. Run again, a row unchanged
// in LiteLLM is not written again (edits made here since are kept); a changed one is updated; spend
// grows by what LiteLLM counted since, so nothing counts twice and spend made here is kept. Spend logs
// are inserted by request id, once, from a cursor kept the same way.
import { createHash, randomUUID } from 'node:crypto';
import { tokenOf } from '../auth/keys.ts';
import { AuditRepo } from '../store/audit.ts';
import type { Db, SqlValue, Statement } from '../store/db.ts';
import { placeholders, toRow } from '../store/rows.ts';
import { isSet, MAPPINGS, spendRecordOf, teamMemberRoles, type Mapped, type TableMapping } from './map.ts';
import { importDaily } from './daily.ts';
import { importModels, type ModelsResult } from './models.ts';
import type { LiteLLMSource, LiteLLMTable, Row } from './source.ts';
import { cursor, forget, loadState, remember, type ImportedRow } from './state.ts';

/** Spend logs are read again from an hour before the last one seen: LiteLLM writes them in batches, late. */
const LOG_OVERLAP_MS = 3_600_000;

export interface ImportOptions {
  source: LiteLLMSource;
  /** How the audit log names the source (its URL without credentials). */
  sourceName: string;
  db: Db;
  dryRun: boolean;
  /** LITELLM_SALT_KEY (or LiteLLM's master key): stored models' credentials are decrypted with it; null: models are skipped. */
  saltKey: string | null;
  /** Where stored models are written (a config.yaml fragment, its secrets in a .env file beside it). */
  modelsOut: string;
  log: (line: string) => void;
  now?: () => Date;
}

export interface TableCounts {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Imported by an earlier run and deleted here since: not brought back. */
  deleted: number;
  /** Keys imported by an earlier run and deleted in LiteLLM since: deleted here too. */
  removed: number;
}

export interface ImportSummary {
  tables: Partial<Record<LiteLLMTable, TableCounts>>;
  spendLogs: { read: number; inserted: number };
  /** Daily aggregate rows brought into the rollups (days the spend logs no longer cover). */
  daily: number;
  models: ModelsResult;
  /** LiteLLM columns set on some rows that have no equivalent here: table.column → rows. */
  unsupported: Map<string, { rows: number; why: string }>;
  notes: string[];
}

const idOf = (pk: Record<string, string>) => Object.values(pk).join('\u001f');
/**
 * The fields LiteLLM set, but not when it last touched the row (it does so for spend alone) nor when
 * it made it (rows of LiteLLM's without a creation time get the import's).
 */
const UNCOMPARED = new Set(['created_at', 'updated_at']);
const fingerprint = (m: Mapped) =>
  createHash('sha256')
    .update(JSON.stringify(Object.keys(m.fields).filter((k) => !UNCOMPARED.has(k)).sort().map((k) => [k, m.fields[k]])))
    .digest('hex');

export async function importLiteLLM(opts: ImportOptions): Promise<ImportSummary> {
  const now = opts.now ?? (() => new Date());
  const summary: ImportSummary = { tables: {}, spendLogs: { read: 0, inserted: 0 }, daily: 0, models: { written: 0, skipped: 0, file: null, envFile: null }, unsupported: new Map(), notes: [] };
  const note = (line: string) => {
    summary.notes.push(line);
    opts.log(line);
  };
  const teamRoles = new Map<string, Map<string, 'admin' | 'user'>>();
  for (const m of MAPPINGS) {
    if (!opts.source.has(m.table)) continue;
    const counts: TableCounts = { read: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, removed: 0 };
    summary.tables[m.table] = counts;
    const state = await loadState(opts.db, m.kind);
    // Before the rows: a key regenerated in LiteLLM must give up its alias to its new token here.
    await goneFromLiteLLM(opts, m, state, counts, note);
    const holders =
      m.table === 'LiteLLM_VerificationToken' ? hashedIds(await opts.source.firstHolders(m.table, 'key_alias', false))
      : m.table === 'LiteLLM_UserTable' ? await opts.source.firstHolders(m.table, 'user_email', true)
      : new Map<string, string>();
    const seen = new Set<string>();
    const pages = m.table === 'LiteLLM_TeamMembership' ? withRoleOnlyMembers(opts.source.rows(m.table), teamRoles, seen) : opts.source.rows(m.table);
    for await (const rows of pages) {
      const mapped: Mapped[] = [];
      for (const row of rows) {
        if (!row[FROM_TEAM]) counts.read++;
        tallyUnsupported(summary, m, row);
        if (m.table === 'LiteLLM_TeamTable') teamRoles.set(String(row.team_id), teamMemberRoles(row));
        for (const out of m.map(row, now().toISOString())) {
          if (m.table === 'LiteLLM_TeamMembership') {
            seen.add(`${out.pk.team_id}\u001f${out.pk.user_id}`);
            out.fields.role = teamRoles.get(out.pk.team_id!)?.get(out.pk.user_id!) ?? 'user';
          }
          for (const n of out.notes) note(n);
          mapped.push(out);
        }
      }
      await writePage(opts, m, mapped, state, holders, counts, note, now);
    }
  }
  await importSpendLogs(opts, summary, now);
  summary.daily = await importDaily({ source: opts.source, db: opts.db, dryRun: opts.dryRun, now });
  summary.models = await importModels(opts, note);
  if (!opts.dryRun) {
    // One line in the audit log for the whole run, as for any management write.
    await new AuditRepo(opts.db).insert({
      id: randomUUID(), changed_at: now().toISOString(), changed_by: 'llm-proxy import litellm', changed_by_role: 'proxy_admin', changed_by_api_key: null,
      action: 'imported', route: 'llm-proxy import litellm', table_name: 'LiteLLM', object_id: opts.sourceName, before_value: null,
      updated_values: { tables: summary.tables, spend_logs: summary.spendLogs, daily_rows: summary.daily, models: summary.models.written },
    });
    if (opts.db.dialect === 'postgres') await opts.db.notifyChanged('*').catch(() => {});
  }
  return summary;
}

/**
 * Rows imported before that LiteLLM no longer has. A key deleted there (revoked, rotated, its user or
 * team deleted) is deleted here too: a key LiteLLM refuses must not keep working. Other rows are
 * named and kept, since deleting a team or a user here is a decision with more consequences.
 */
async function goneFromLiteLLM(
  opts: ImportOptions,
  m: TableMapping,
  state: Map<string, ImportedRow>,
  counts: TableCounts,
  note: (line: string) => void,
): Promise<void> {
  // Memberships made from a team's member list have no row of their own: only LiteLLM's rows count.
  if (state.size === 0 || m.kind === 'team_member') return;
  const there = new Set((await opts.source.ids(m.table)).map((id) => (m.kind === 'key' ? tokenOf(id) : id)));
  const gone = [...state.keys()].filter((id) => !there.has(id));
  if (gone.length === 0) return;
  if (m.kind !== 'key') {
    note(`${gone.length} row${gone.length > 1 ? 's' : ''} of ${m.table} imported before ${gone.length > 1 ? 'are' : 'is'} no longer in LiteLLM and ${gone.length > 1 ? 'are' : 'is'} kept here: ${gone.slice(0, 5).join(', ')}${gone.length > 5 ? ', ...' : ''}`);
    return;
  }
  for (let i = 0; i < gone.length; i += 500) {
    const ids = gone.slice(i, i + 500);
    const here = await opts.db.all<{ token: string }>(`SELECT token FROM llmproxy_keys WHERE token IN (${placeholders(ids.length)})`, ids);
    counts.removed += here.length;
    for (const id of ids) state.delete(id);
    if (opts.dryRun) continue;
    await opts.db.batch([
      { sql: `DELETE FROM llmproxy_key_model_budgets WHERE token IN (${placeholders(ids.length)})`, params: ids },
      { sql: `DELETE FROM llmproxy_keys WHERE token IN (${placeholders(ids.length)})`, params: ids },
      forget('key', ids),
    ]);
  }
}

/** Keys are known here by their hash, whatever LiteLLM stored (a very old row holds the raw key). */
function hashedIds(holders: Map<string, string>): Map<string, string> {
  return new Map([...holders].map(([v, id]) => [v, tokenOf(id)]));
}

/** Marks a membership made from a team's members_with_roles, not read from LiteLLM_TeamMembership. */
const FROM_TEAM = '\u0000from_team';

/**
 * LiteLLM's team members are listed on the team (members_with_roles); a LiteLLM_TeamMembership row
 * exists only for some. Those without one come after the table's rows, with no spend and no budget.
 */
async function* withRoleOnlyMembers(pages: AsyncGenerator<Row[]>, roles: Map<string, Map<string, 'admin' | 'user'>>, seen: Set<string>): AsyncGenerator<Row[]> {
  yield* pages;
  const rest: Row[] = [];
  for (const [team_id, members] of roles) {
    for (const user_id of members.keys()) if (!seen.has(`${team_id}\u001f${user_id}`)) rest.push({ team_id, user_id, spend: 0, budget_id: null, [FROM_TEAM]: true });
  }
  for (let i = 0; i < rest.length; i += 1_000) yield rest.slice(i, i + 1_000);
}

function tallyUnsupported(summary: ImportSummary, m: TableMapping, row: Row): void {
  for (const [col, why] of Object.entries(m.unsupported)) {
    if (!isSet(row[col])) continue;
    const k = `${m.table}.${col}`;
    const t = summary.unsupported.get(k) ?? { rows: 0, why };
    t.rows++;
    summary.unsupported.set(k, t);
  }
}

function pkWhere(rows: Mapped[]): { sql: string; params: SqlValue[] } {
  const cols = Object.keys(rows[0]!.pk);
  if (cols.length === 1) return { sql: `${cols[0]} IN (${placeholders(rows.length)})`, params: rows.map((r) => r.pk[cols[0]!]!) };
  return { sql: rows.map(() => `(${cols.map((c) => `${c} = ?`).join(' AND ')})`).join(' OR '), params: rows.flatMap((r) => cols.map((c) => r.pk[c]!)) };
}

/** One page of rows, written in one transaction with their import state: all of it or none. */
async function writePage(
  opts: ImportOptions,
  m: TableMapping,
  mapped: Mapped[],
  state: Map<string, ImportedRow>,
  holders: Map<string, string>,
  counts: TableCounts,
  note: (line: string) => void,
  now: () => Date,
): Promise<void> {
  if (mapped.length === 0) return;
  const spec = mapped[0]!.spec;
  const pkCols = Object.keys(mapped[0]!.pk);
  const where = pkWhere(mapped);
  const existing = new Set(
    (await opts.db.all<Record<string, string>>(`SELECT ${pkCols.join(', ')} FROM ${spec.table} WHERE ${where.sql}`, where.params)).map((r) =>
      pkCols.map((c) => String(r[c])).join('\u001f'),
    ),
  );
  const prints = new Map(mapped.map((r) => [r, fingerprint(r)]));
  await clearClashes(opts.db, mapped, holders, note);
  const statements: Statement[] = [];
  const at = now().toISOString();
  for (const r of mapped) {
    const id = idOf(r.pk);
    const before = state.get(id);
    const print = prints.get(r)!;
    const delta = r.spend_nanos - (before?.spend_nanos ?? 0);
    if (!existing.has(id) && before) {
      // Imported before and deleted here since: it stays deleted.
      counts.deleted++;
      continue;
    }
    if (!existing.has(id)) {
      counts.created++;
      const row = toRow(spec, { ...r.pk, ...r.fields, ...(spec.columns.includes('spend_nanos') ? { spend_nanos: r.spend_nanos } : {}) });
      const cols = Object.keys(row);
      statements.push({ sql: `INSERT INTO ${spec.table} (${cols.join(', ')}) VALUES (${placeholders(cols.length)})`, params: cols.map((c) => row[c]!) });
    } else {
      const changed = before?.fingerprint !== print;
      if (changed) counts.updated++;
      else counts.unchanged++;
      // A row's creation time stays: a budget's period is known by it (policy/fresh-spend.ts).
      const { created_at: _created, ...fields } = r.fields;
      const row = changed ? toRow(spec, fields) : {};
      const sets = Object.keys(row).map((c) => `${c} = ?`);
      const params: SqlValue[] = Object.values(row);
      if (delta !== 0 && spec.columns.includes('spend_nanos')) {
        sets.push('spend_nanos = CASE WHEN spend_nanos + ? < 0 THEN 0 ELSE spend_nanos + ? END');
        params.push(delta, delta);
      }
      if (sets.length) statements.push({ sql: `UPDATE ${spec.table} SET ${sets.join(', ')} WHERE ${pkCols.map((c) => `${c} = ?`).join(' AND ')}`, params: [...params, ...pkCols.map((c) => r.pk[c]!)] });
    }
    statements.push(remember(m.kind, id, print, r.spend_nanos, at));
    state.set(id, { fingerprint: print, spend_nanos: r.spend_nanos });
  }
  if (!opts.dryRun) await opts.db.batch(statements);
}

/**
 * Key aliases and user emails are unique here, not always in LiteLLM's database. Of the rows that share
 * one in LiteLLM, the oldest keeps it; a value a row of this gateway's own holds stays with that row.
 * The others come across without it, with a note.
 */
async function clearClashes(db: Db, mapped: Mapped[], holders: Map<string, string>, note: (line: string) => void): Promise<void> {
  const withUnique = mapped.filter((r) => r.unique && typeof r.fields[r.unique.column] === 'string');
  if (withUnique.length === 0) return;
  const { column, lower } = withUnique[0]!.unique!;
  const norm = (v: string) => (lower ? v.toLowerCase() : v);
  const spec = withUnique[0]!.spec;
  const pkCols = Object.keys(withUnique[0]!.pk);
  const values = [...new Set(withUnique.map((r) => norm(r.fields[column] as string)))];
  const taken = new Map<string, string>();
  const col = lower ? `lower(${column})` : column;
  for (const row of await db.all<Record<string, string>>(`SELECT ${pkCols.join(', ')}, ${col} AS v FROM ${spec.table} WHERE ${col} IN (${placeholders(values.length)})`, values)) {
    taken.set(row.v!, pkCols.map((c) => String(row[c])).join('\u001f'));
  }
  for (const r of withUnique) {
    const v = norm(r.fields[column] as string);
    const id = idOf(r.pk);
    const owner = taken.get(v) ?? holders.get(v);
    if (owner !== undefined && owner !== id) {
      const what = spec.table === 'llmproxy_keys' ? `key ${String(r.fields.key_name)}` : `user ${id}`;
      note(`${what}: ${column} "${String(r.fields[column])}" is also another's${taken.has(v) ? ' here' : ' in LiteLLM (the oldest keeps it)'}; imported without it`);
      r.fields[column] = null;
    }
  }
}

async function importSpendLogs(opts: ImportOptions, summary: ImportSummary, now: () => Date): Promise<void> {
  if (!opts.source.has('LiteLLM_SpendLogs')) return;
  const seen = await cursor(opts.db, 'spend_logs');
  const from = seen ? new Date(Date.parse(seen) - LOG_OVERLAP_MS).toISOString() : null;
  let last = seen ?? '';
  for await (const rows of opts.source.spendLogs(from)) {
    summary.spendLogs.read += rows.length;
    const records = rows.map(spendRecordOf);
    for (const r of records) if (r.started_at > last) last = r.started_at;
    if (opts.dryRun) {
      const ids = records.map((r) => r.request_id);
      const known = await opts.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_spend_logs WHERE request_id IN (${placeholders(ids.length)})`, ids);
      summary.spendLogs.inserted += ids.length - Number(known?.n ?? 0);
      continue;
    }
    summary.spendLogs.inserted += await opts.db.writeHistory(records);
    await opts.db.batch([remember('spend_logs', '', last, 0, now().toISOString())]);
  }
}

/** The report: counts per table, then every LiteLLM field that did not come across, by name. */
export function formatSummary(s: ImportSummary, dryRun: boolean): string {
  const lines: string[] = [];
  const verb = dryRun ? 'would be' : 'were';
  lines.push(dryRun ? 'Dry run: nothing was written. What an import would do:' : 'Imported:');
  lines.push('  table                            read  created  updated  unchanged');
  for (const [table, c] of Object.entries(s.tables)) {
    const gone = [
      c.deleted ? `${c.deleted} deleted here since the last import, left deleted` : '',
      c.removed ? `${c.removed} deleted in LiteLLM since the last import, ${dryRun ? 'to be ' : ''}deleted here` : '',
    ].filter(Boolean).join('; ');
    lines.push(`  ${table.padEnd(31)} ${String(c.read).padStart(5)}  ${String(c.created).padStart(7)}  ${String(c.updated).padStart(7)}  ${String(c.unchanged).padStart(9)}${gone ? `  (${gone})` : ''}`);
  }
  lines.push(`  LiteLLM_SpendLogs               ${String(s.spendLogs.read).padStart(5)}  ${String(s.spendLogs.inserted).padStart(7)} new (the others ${verb} here already)`);
  if (s.daily) lines.push(`  LiteLLM_Daily*Spend             ${String(s.daily).padStart(5)} rows ${dryRun ? 'to add' : 'added'} to the hourly rollups (days before the oldest spend log)`);
  const m = s.models;
  if (m.written || m.skipped) lines.push(`  LiteLLM_ProxyModelTable         ${String(m.written + m.skipped).padStart(5)}  ${String(m.written).padStart(7)} ${dryRun ? 'to write' : 'written'}${m.file ? ` to ${m.file}` : ''}, ${m.skipped} skipped`);
  if (s.unsupported.size) {
    lines.push('', 'Not imported (no equivalent here), by field:');
    for (const [field, u] of [...s.unsupported].sort()) lines.push(`  ${field} (${u.rows} row${u.rows > 1 ? 's' : ''}): ${u.why}`);
  }
  return lines.join('\n');
}
