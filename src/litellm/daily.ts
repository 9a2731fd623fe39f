// LiteLLM's daily aggregates (LiteLLM_DailyUserSpend, ...Team..., ...Organization..., ...EndUser...,
// ...Tag...) as hourly rollups, for the days its spend logs no longer cover (a retention period purged
// them, or it kept none): the dashboard's charts and /spend reports reach back as far as LiteLLM's do.
//
// A day becomes its first hour. The days from the oldest spend log on come from the logs instead; that
// day is fixed at the first import (llmproxy_imports 'daily_cutoff'), so that logs purged later are not
// counted twice. Each aggregate row's sums are remembered as imported, and a later run adds only their
// change (today's row grows until the day ends).
import { hashKey, looksLikeHash } from '../auth/keys.ts';
import { usdToNanos } from '../metering/money.ts';
import type { Db, Statement } from '../store/db.ts';
import type { DailyTable, LiteLLMSource, Row } from './source.ts';

const SOURCE = 'litellm';
const SUMS = ['requests', 'errors', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'cost_nanos'];

/** Each aggregate, its owner's column and the rollup it feeds; the users' one has every call, so it makes the keys' rollup too. */
const DAILY: { table: DailyTable; column: string; kind: string; keys?: true }[] = [
  { table: 'LiteLLM_DailyUserSpend', column: 'user_id', kind: 'user', keys: true },
  { table: 'LiteLLM_DailyTeamSpend', column: 'team_id', kind: 'team' },
  { table: 'LiteLLM_DailyOrganizationSpend', column: 'organization_id', kind: 'org' },
  { table: 'LiteLLM_DailyEndUserSpend', column: 'end_user_id', kind: 'customer' },
  { table: 'LiteLLM_DailyTagSpend', column: 'tag', kind: 'tag' },
];

const int = (v: unknown) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
};

/** The row's sums in the rollups' order (LiteLLM's prompt_tokens include cache reads and writes). */
function sums(r: Row): number[] {
  const prompt = int(r.prompt_tokens);
  const read = Math.min(prompt, int(r.cache_read_input_tokens));
  const write = Math.min(prompt - read, int(r.cache_creation_input_tokens));
  return [int(r.api_requests), int(r.failed_requests), prompt - read - write, read, write, int(r.completion_tokens), 0, usdToNanos(Number(r.spend ?? 0))];
}

const add = (table: string, keyCols: string[]) =>
  `INSERT INTO ${table} (${[...keyCols, ...SUMS].join(', ')}) VALUES (${[...keyCols, ...SUMS].map(() => '?').join(', ')})
   ON CONFLICT (${keyCols.join(', ')}) DO UPDATE SET ${SUMS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}`;
const KEY_ROLLUP = add('llmproxy_spend_hourly', ['hour', 'key_token', 'model_group']);
const ENTITY_ROLLUP = add('llmproxy_spend_entity_hourly', ['hour', 'entity_kind', 'entity_id', 'model_group']);

/** The aggregate rows brought in or changed (in a dry run: that would be). */
export async function importDaily(opts: { source: LiteLLMSource; db: Db; dryRun: boolean; now: () => Date }): Promise<number> {
  const tables = DAILY.filter((t) => opts.source.has(t.table));
  if (tables.length === 0) return 0;
  const stored = await opts.db.get<{ fingerprint: string }>("SELECT fingerprint FROM llmproxy_imports WHERE source = ? AND kind = 'daily_cutoff' AND id = ''", [SOURCE]);
  // '' : LiteLLM kept no spend logs at the first import, so its aggregates are the whole history.
  const cutoff = stored ? stored.fingerprint : ((await opts.source.firstLogDay()) ?? '');
  const at = opts.now().toISOString();
  if (!stored && !opts.dryRun) {
    await opts.db.run("INSERT INTO llmproxy_imports (source, kind, id, fingerprint, spend_nanos, imported_at) VALUES (?, 'daily_cutoff', '', ?, 0, ?)", [SOURCE, cutoff, at]);
  }
  let changed = 0;
  for (const t of tables) {
    const kind = `daily:${t.kind}`;
    const before = new Map(
      (await opts.db.all<{ id: string; fingerprint: string }>('SELECT id, fingerprint FROM llmproxy_imports WHERE source = ? AND kind = ?', [SOURCE, kind])).map((r) => [r.id, JSON.parse(r.fingerprint) as number[]]),
    );
    for await (const rows of opts.source.rows(t.table)) {
      const statements: Statement[] = [];
      for (const r of rows) {
        const day = String(r.date);
        if (cutoff && day >= cutoff) continue;
        const now = sums(r);
        const was = before.get(String(r.id)) ?? SUMS.map(() => 0);
        const delta = now.map((v, i) => v - was[i]!);
        if (delta.every((v) => v === 0)) continue;
        changed++;
        const hour = `${day}T00:00:00Z`;
        const group = String(r.model_group || r.model || '');
        const owner = r[t.column];
        if (t.keys) {
          const key = typeof r.api_key === 'string' && r.api_key ? (looksLikeHash(r.api_key) ? r.api_key : hashKey(r.api_key)) : '';
          statements.push({ sql: KEY_ROLLUP, params: [hour, key, group, ...delta] });
        }
        if (typeof owner === 'string' && owner) statements.push({ sql: ENTITY_ROLLUP, params: [hour, t.kind, owner, group, ...delta] });
        statements.push({
          sql: `INSERT INTO llmproxy_imports (source, kind, id, fingerprint, spend_nanos, imported_at) VALUES (?, ?, ?, ?, 0, ?)
                ON CONFLICT (source, kind, id) DO UPDATE SET fingerprint = excluded.fingerprint, imported_at = excluded.imported_at`,
          params: [SOURCE, kind, String(r.id), JSON.stringify(now), at],
        });
      }
      if (statements.length && !opts.dryRun) await opts.db.batch(statements);
    }
  }
  return changed;
}
