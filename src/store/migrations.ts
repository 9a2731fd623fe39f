// Schema changes, applied in order at start. Table names start with llmproxy_ so that a LiteLLM
// database (LiteLLM_* tables) can sit beside ours. Times are ISO-8601 UTC text; money is integer
// nano-dollars.
import type { SqlConnection } from './db.ts';

/** `postgresOnly`: statements SQLite has no need of (its text comparisons are already by code point). */
const MIGRATIONS: { id: number; name: string; sql: string[]; postgresOnly?: boolean }[] = [
  {
    id: 1,
    name: 'keys',
    sql: [
      `CREATE TABLE llmproxy_keys (
        token TEXT PRIMARY KEY,
        key_name TEXT NOT NULL,
        key_alias TEXT UNIQUE,
        models TEXT NOT NULL DEFAULT '[]',
        aliases TEXT NOT NULL DEFAULT '{}',
        metadata TEXT NOT NULL DEFAULT '{}',
        tags TEXT,
        user_id TEXT,
        team_id TEXT,
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        max_budget_nanos INTEGER,
        soft_budget_nanos INTEGER,
        budget_duration TEXT,
        budget_reset_at TEXT,
        budget_period_start TEXT,
        expires TEXT,
        tpm_limit INTEGER,
        rpm_limit INTEGER,
        max_parallel_requests INTEGER,
        model_rpm_limit TEXT,
        model_tpm_limit TEXT,
        blocked INTEGER NOT NULL DEFAULT 0,
        extra TEXT NOT NULL DEFAULT '{}',
        created_by TEXT,
        updated_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      'CREATE INDEX llmproxy_keys_user ON llmproxy_keys (user_id)',
      'CREATE INDEX llmproxy_keys_team ON llmproxy_keys (team_id)',
      'CREATE INDEX llmproxy_keys_created ON llmproxy_keys (created_at, token)',
      'CREATE INDEX llmproxy_keys_budget_reset ON llmproxy_keys (budget_reset_at)',
    ],
  },
  {
    id: 2,
    name: 'ledger',
    sql: [
      `CREATE TABLE llmproxy_spend_logs (
        request_id TEXT PRIMARY KEY,
        upstream_id TEXT,
        key_token TEXT,
        user_id TEXT,
        team_id TEXT,
        end_user TEXT,
        model_group TEXT NOT NULL,
        deployment_id TEXT,
        provider TEXT,
        model TEXT,
        call_type TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        cache_write_1h_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_nanos INTEGER NOT NULL,
        status TEXT NOT NULL,
        http_status INTEGER NOT NULL,
        error_type TEXT,
        stream INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        ttft_ms REAL,
        estimated INTEGER NOT NULL,
        tags TEXT NOT NULL,
        started_at TEXT NOT NULL
      )`,
      'CREATE INDEX llmproxy_spend_logs_started ON llmproxy_spend_logs (started_at)',
      'CREATE INDEX llmproxy_spend_logs_key ON llmproxy_spend_logs (key_token, started_at)',
      'CREATE INDEX llmproxy_spend_logs_upstream ON llmproxy_spend_logs (upstream_id)',
      `CREATE TABLE llmproxy_spend_hourly (
        hour TEXT NOT NULL,
        key_token TEXT NOT NULL,
        model_group TEXT NOT NULL,
        requests INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_nanos INTEGER NOT NULL,
        PRIMARY KEY (hour, key_token, model_group)
      )`,
    ],
  },
  {
    id: 3,
    name: 'ui sessions',
    sql: [
      // A session id is stored as its SHA-256 only, like keys.
      `CREATE TABLE llmproxy_ui_sessions (
        id_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        credentials_hash TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL
      )`,
      'CREATE INDEX llmproxy_ui_sessions_expires ON llmproxy_ui_sessions (expires_at)',
    ],
  },
  {
    id: 4,
    name: 'key alias prefix index',
    // Alias prefixes are searched by code point ranges, which a language collation's index cannot serve.
    sql: ['CREATE INDEX llmproxy_keys_alias_c ON llmproxy_keys (key_alias COLLATE "C")'],
    postgresOnly: true,
  },
];

/** The schema is written for SQLite; PostgreSQL needs 64-bit integers and doubles spelled out. */
function forPostgres(sql: string): string {
  return sql.replace(/\bINTEGER\b/g, 'BIGINT').replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}

export async function migrate(db: SqlConnection): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS llmproxy_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const done = new Set((await db.all<{ id: number }>('SELECT id FROM llmproxy_migrations')).map((r) => Number(r.id)));
  for (const m of MIGRATIONS) {
    if (done.has(m.id)) continue;
    await db.transaction(async (tx) => {
      if (db.dialect === 'postgres') for (const sql of m.sql) await tx.run(forPostgres(sql));
      else if (!m.postgresOnly) for (const sql of m.sql) await tx.run(sql);
      await tx.run('INSERT INTO llmproxy_migrations (id, name, applied_at) VALUES (?, ?, ?)', [m.id, m.name, new Date().toISOString()]);
    });
  }
}
