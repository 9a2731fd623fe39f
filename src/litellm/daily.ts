// LiteLLM's daily aggregates (LiteLLM_DailyUserSpend, ...Team..., ...Organization..., ...EndUser...,
// ...Tag...) as hourly rollups, for the days its spend logs no longer cover (a retention period purged
// them, or it kept none): the dashboard's charts and /spend reports reach back as far as LiteLLM's do.
//
// A day becomes its first hour. The days from the oldest spend log on come from the logs instead; that
// day is fixed at the first import (llmproxy_imports 'daily_cutoff'), so that logs purged later are not
// counted twice. Each aggregate row's sums are remembered as imported, and a later run adds only their
// change (today's row grows until the day ends).
import { tokenOf } from '../auth/keys.ts';
import { usdToNanos } from '../metering/money.ts';
import type { Db, SqlValue } from '../store/db.ts';
import { rollupStatements } from '../store/ledger.ts';
import { int, promptParts } from './map.ts';
import type { DailyTable, LiteLLMSource, Row } from './source.ts';
import { cursor, loadState, remember } from './state.ts';

/** Each aggregate, its owner's column and the rollup it feeds; the users' one has every call, so it makes the keys' rollup too. */
const DAILY: { table: DailyTable; column: string; kind: string; keys?: true }[] = [
  { table: 'LiteLLM_DailyUserSpend', column: 'user_id', kind: 'user', keys: true },
  { table: 'LiteLLM_DailyTeamSpend', column: 'team_id', kind: 'team' },
  { table: 'LiteLLM_DailyOrganizationSpend', column: 'organization_id', kind: 'org' },
  { table: 'LiteLLM_DailyEndUserSpend', column: 'end_user_id', kind: 'customer' },
  { table: 'LiteLLM_DailyTagSpend', column: 'tag', kind: 'tag' },
];

/** The row's sums in the rollups' order: requests, errors, input, cache read, cache write, output, reasoning, cost. */
function sums(r: Row): number[] {
  const p = promptParts(int(r.prompt_tokens), int(r.cache_read_input_tokens), int(r.cache_creation_input_tokens));
  return [int(r.api_requests), int(r.failed_requests), p.input, p.cacheRead, p.cacheWrite, int(r.completion_tokens), 0, usdToNanos(Number(r.spend ?? 0))];
}

/** Adds a row's sums to the rollup row of its key (several aggregates may share one: other providers, endpoints). */
function addTo(rollup: Map<string, { key: SqlValue[]; n: number[] }>, key: SqlValue[], n: number[]): void {
  const k = key.join('\u0000');
  const row = rollup.get(k);
  if (row) n.forEach((v, i) => (row.n[i]! += v));
  else rollup.set(k, { key, n: [...n] });
}

const rowsOf = (rollup: Map<string, { key: SqlValue[]; n: number[] }>) => [...rollup.keys()].sort().map((k) => [...rollup.get(k)!.key, ...rollup.get(k)!.n]);

/** The aggregate rows brought in or changed (in a dry run: that would be). */
export async function importDaily(opts: { source: LiteLLMSource; db: Db; dryRun: boolean; now: () => Date }): Promise<number> {
  const tables = DAILY.filter((t) => opts.source.has(t.table));
  if (tables.length === 0) return 0;
  const stored = await cursor(opts.db, 'daily_cutoff');
  // '' : LiteLLM kept no spend logs at the first import, so its aggregates are the whole history.
  const cutoff = stored ?? ((await opts.source.firstLogDay()) ?? '');
  const at = opts.now().toISOString();
  if (stored === undefined && !opts.dryRun) await opts.db.batch([remember('daily_cutoff', '', cutoff, 0, at)]);
  let changed = 0;
  for (const t of tables) {
    const kind = `daily:${t.kind}`;
    const before = new Map([...(await loadState(opts.db, kind))].map(([id, r]) => [id, JSON.parse(r.fingerprint) as number[]]));
    for await (const rows of opts.source.rows(t.table)) {
      const keys = new Map<string, { key: SqlValue[]; n: number[] }>();
      const entities = new Map<string, { key: SqlValue[]; n: number[] }>();
      const remembered = [];
      for (const r of rows) {
        const day = String(r.date);
        if (cutoff && day >= cutoff) continue;
        const now = sums(r);
        const was = before.get(String(r.id)) ?? now.map(() => 0);
        const delta = now.map((v, i) => v - was[i]!);
        if (delta.every((v) => v === 0)) continue;
        changed++;
        const hour = `${day}T00:00:00Z`;
        const group = String(r.model_group || r.model || '');
        const owner = r[t.column];
        if (t.keys) addTo(keys, [hour, typeof r.api_key === 'string' && r.api_key ? tokenOf(r.api_key) : '', group], delta);
        if (typeof owner === 'string' && owner) addTo(entities, [hour, t.kind, owner, group], delta);
        remembered.push(remember(kind, String(r.id), JSON.stringify(now), 0, at));
      }
      if (remembered.length && !opts.dryRun) {
        await opts.db.batch([...rollupStatements('llmproxy_spend_hourly', rowsOf(keys)), ...rollupStatements('llmproxy_spend_entity_hourly', rowsOf(entities)), ...remembered]);
      }
    }
  }
  return changed;
}
