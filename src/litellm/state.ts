// What `llm-proxy import litellm` brought over (llmproxy_imports): per row, a fingerprint of its fields
// and LiteLLM's spend then; and the import's cursors ('spend_logs', 'daily_cutoff').
import type { Db, Statement } from '../store/db.ts';
import { placeholders } from '../store/rows.ts';

const SOURCE = 'litellm';

export interface ImportedRow {
  fingerprint: string;
  spend_nanos: number;
}

/** Every row of one kind brought over so far, by id. */
export async function loadState(db: Db, kind: string): Promise<Map<string, ImportedRow>> {
  const rows = await db.all<{ id: string; fingerprint: string; spend_nanos: number | bigint }>(
    'SELECT id, fingerprint, spend_nanos FROM llmproxy_imports WHERE source = ? AND kind = ?',
    [SOURCE, kind],
  );
  return new Map(rows.map((r) => [r.id, { fingerprint: r.fingerprint, spend_nanos: Number(r.spend_nanos) }]));
}

/** A cursor's value (a kind with the one id ''), or undefined before the first import. */
export async function cursor(db: Db, kind: string): Promise<string | undefined> {
  return (await db.get<{ fingerprint: string }>("SELECT fingerprint FROM llmproxy_imports WHERE source = ? AND kind = ? AND id = ''", [SOURCE, kind]))?.fingerprint;
}

/** Remembers a row (or a cursor: id ''), to be run in the transaction that writes it. */
export function remember(kind: string, id: string, fingerprint: string, spendNanos: number, at: string): Statement {
  return {
    sql: `INSERT INTO llmproxy_imports (source, kind, id, fingerprint, spend_nanos, imported_at) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (source, kind, id) DO UPDATE SET fingerprint = excluded.fingerprint, spend_nanos = excluded.spend_nanos, imported_at = excluded.imported_at`,
    params: [SOURCE, kind, id, fingerprint, spendNanos, at],
  };
}

/** Forgets rows of a kind (keys deleted here because LiteLLM deleted them). */
export function forget(kind: string, ids: string[]): Statement {
  return { sql: `DELETE FROM llmproxy_imports WHERE source = ? AND kind = ? AND id IN (${placeholders(ids.length)})`, params: [SOURCE, kind, ...ids] };
}
