// Schema changes, applied in order at start. Table names start with llmproxy_ so that a LiteLLM
// database (LiteLLM_* tables) can sit beside ours. Times are ISO-8601 UTC text; money is integer
// nano-dollars.
import type { Queryable, SqlConnection } from './db.ts';

/** `postgresOnly`: statements SQLite has no need of (its text comparisons are already by code point). */
const MIGRATIONS: {
  id: number;
  name: string;
  sql: string[];
  postgresOnly?: boolean;
  /** Data moved after the statements, in the same transaction. */
  data?: (tx: Queryable, now: string) => Promise<void>;
}[] = [
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
  {
    id: 5,
    name: 'users, teams, organizations, customers, budgets, audit log',
    sql: [
      // Inline budgets (users, teams) as keys have them; organizations, customers and memberships point
      // at a shared budget row (budget_id), as LiteLLM's tables do.
      `CREATE TABLE llmproxy_users (
        user_id TEXT PRIMARY KEY,
        user_email TEXT,
        user_alias TEXT,
        user_role TEXT NOT NULL,
        models TEXT NOT NULL DEFAULT '[]',
        metadata TEXT NOT NULL DEFAULT '{}',
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        max_budget_nanos INTEGER,
        soft_budget_nanos INTEGER,
        budget_duration TEXT,
        budget_reset_at TEXT,
        budget_period_start TEXT,
        tpm_limit INTEGER,
        rpm_limit INTEGER,
        max_parallel_requests INTEGER,
        model_max_budget TEXT,
        password_hash TEXT,
        extra TEXT NOT NULL DEFAULT '{}',
        created_by TEXT,
        updated_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      // Emails are unique whatever their case (LiteLLM compares them case-insensitively).
      'CREATE UNIQUE INDEX llmproxy_users_email ON llmproxy_users (lower(user_email))',
      'CREATE INDEX llmproxy_users_created ON llmproxy_users (created_at, user_id)',
      `CREATE TABLE llmproxy_teams (
        team_id TEXT PRIMARY KEY,
        team_alias TEXT,
        organization_id TEXT,
        models TEXT NOT NULL DEFAULT '[]',
        metadata TEXT NOT NULL DEFAULT '{}',
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        max_budget_nanos INTEGER,
        soft_budget_nanos INTEGER,
        budget_duration TEXT,
        budget_reset_at TEXT,
        budget_period_start TEXT,
        tpm_limit INTEGER,
        rpm_limit INTEGER,
        max_parallel_requests INTEGER,
        model_max_budget TEXT,
        blocked INTEGER NOT NULL DEFAULT 0,
        extra TEXT NOT NULL DEFAULT '{}',
        created_by TEXT,
        updated_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      'CREATE INDEX llmproxy_teams_org ON llmproxy_teams (organization_id)',
      `CREATE TABLE llmproxy_team_members (
        team_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        role TEXT NOT NULL,
        budget_id TEXT,
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (team_id, user_id)
      )`,
      'CREATE INDEX llmproxy_team_members_user ON llmproxy_team_members (user_id)',
      `CREATE TABLE llmproxy_organizations (
        organization_id TEXT PRIMARY KEY,
        organization_alias TEXT NOT NULL,
        budget_id TEXT,
        models TEXT NOT NULL DEFAULT '[]',
        metadata TEXT NOT NULL DEFAULT '{}',
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        extra TEXT NOT NULL DEFAULT '{}',
        created_by TEXT,
        updated_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE llmproxy_org_members (
        organization_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        user_role TEXT NOT NULL,
        budget_id TEXT,
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (organization_id, user_id)
      )`,
      'CREATE INDEX llmproxy_org_members_user ON llmproxy_org_members (user_id)',
      `CREATE TABLE llmproxy_customers (
        user_id TEXT PRIMARY KEY,
        alias TEXT,
        blocked INTEGER NOT NULL DEFAULT 0,
        budget_id TEXT,
        allowed_model_region TEXT,
        default_model TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      // Customers the request path must know of (blocked, or with a budget) are read at start.
      'CREATE INDEX llmproxy_customers_policy ON llmproxy_customers (blocked, budget_id)',
      `CREATE TABLE llmproxy_budgets (
        budget_id TEXT PRIMARY KEY,
        max_budget_nanos INTEGER,
        soft_budget_nanos INTEGER,
        max_parallel_requests INTEGER,
        tpm_limit INTEGER,
        rpm_limit INTEGER,
        model_max_budget TEXT,
        budget_duration TEXT,
        budget_reset_at TEXT,
        created_by TEXT,
        updated_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      // Every management write: who, with which role, what, before and after (secrets removed).
      `CREATE TABLE llmproxy_audit_log (
        id TEXT PRIMARY KEY,
        changed_at TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        changed_by_role TEXT NOT NULL,
        changed_by_api_key TEXT,
        action TEXT NOT NULL,
        route TEXT NOT NULL,
        table_name TEXT NOT NULL,
        object_id TEXT NOT NULL,
        before_value TEXT,
        updated_values TEXT
      )`,
      'CREATE INDEX llmproxy_audit_log_time ON llmproxy_audit_log (changed_at, id)',
      'CREATE INDEX llmproxy_audit_log_object ON llmproxy_audit_log (table_name, object_id, changed_at)',
      'ALTER TABLE llmproxy_keys ADD COLUMN organization_id TEXT',
      'ALTER TABLE llmproxy_keys ADD COLUMN budget_id TEXT',
      'ALTER TABLE llmproxy_keys ADD COLUMN key_type TEXT',
      'ALTER TABLE llmproxy_keys ADD COLUMN allowed_routes TEXT',
      'CREATE INDEX llmproxy_keys_org ON llmproxy_keys (organization_id)',
      'ALTER TABLE llmproxy_spend_logs ADD COLUMN organization_id TEXT',
      // Partial indexes: a call without a team (or user, customer, organization) costs no index write.
      'CREATE INDEX llmproxy_spend_logs_team ON llmproxy_spend_logs (team_id, started_at) WHERE team_id IS NOT NULL',
      'CREATE INDEX llmproxy_spend_logs_user ON llmproxy_spend_logs (user_id, started_at) WHERE user_id IS NOT NULL',
      'CREATE INDEX llmproxy_spend_logs_end_user ON llmproxy_spend_logs (end_user, started_at) WHERE end_user IS NOT NULL',
      'CREATE INDEX llmproxy_spend_logs_org ON llmproxy_spend_logs (organization_id, started_at) WHERE organization_id IS NOT NULL',
      // The hourly rollup per entity (user, team, organization, customer, tag) and model group.
      `CREATE TABLE llmproxy_spend_entity_hourly (
        hour TEXT NOT NULL,
        entity_kind TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        model_group TEXT NOT NULL,
        requests INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_nanos INTEGER NOT NULL,
        PRIMARY KEY (hour, entity_kind, entity_id, model_group)
      )`,
      'CREATE INDEX llmproxy_spend_entity_hourly_entity ON llmproxy_spend_entity_hourly (entity_kind, entity_id, hour)',
      // A dashboard session of a user (signed in with their email and password); null: the admin's.
      'ALTER TABLE llmproxy_ui_sessions ADD COLUMN user_id TEXT',
    ],
    // Keys made before this version may name users and teams that had no table: they become rows
    // (no limits, every model), their spend the sum of their spend logs, so no key changes behaviour.
    async data(tx, now) {
      for (const [table, id, extra] of [
        ['llmproxy_users', 'user_id', ", user_role"],
        ['llmproxy_teams', 'team_id', ''],
      ] as const) {
        await tx.run(
          `INSERT INTO ${table} (${id}${extra}, spend_nanos, created_by, updated_by, created_at, updated_at)
           SELECT k.${id}${extra ? ", 'internal_user'" : ''},
             COALESCE((SELECT SUM(s.cost_nanos) FROM llmproxy_spend_logs s WHERE s.${id} = k.${id}), 0),
             'migration', 'migration', ?, ?
           FROM (SELECT DISTINCT ${id} FROM llmproxy_keys WHERE ${id} IS NOT NULL) k`,
          [now, now],
        );
      }
    },
  },
  {
    id: 6,
    name: 'periods of shared budgets',
    sql: [
      // When the current period of a shared budget began: organizations, customers and members on it
      // count a call only in the period it started in, as keys, users and teams do with their own.
      'ALTER TABLE llmproxy_budgets ADD COLUMN budget_period_start TEXT',
    ],
  },
  {
    id: 7,
    name: 'tags',
    sql: [
      // A tag (LiteLLM_TagTable): a cost center or project that requests name; its budget is a shared
      // budget row, its spend its own.
      `CREATE TABLE llmproxy_tags (
        tag_name TEXT PRIMARY KEY,
        description TEXT,
        models TEXT NOT NULL DEFAULT '[]',
        budget_id TEXT,
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        created_by TEXT,
        updated_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    ],
  },
  {
    id: 8,
    name: 'key model budgets',
    sql: [
      // The spend of a key on one model in its budget period (model_max_budget on the key: its limit
      // and period there, the spend and the period's start and end here).
      `CREATE TABLE llmproxy_key_model_budgets (
        ref TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        budget_model TEXT NOT NULL,
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        budget_duration TEXT,
        budget_reset_at TEXT,
        budget_period_start TEXT,
        created_at TEXT NOT NULL
      )`,
      'CREATE INDEX llmproxy_key_model_budgets_token ON llmproxy_key_model_budgets (token)',
      'ALTER TABLE llmproxy_keys ADD COLUMN model_max_budget TEXT',
    ],
  },
  {
    id: 9,
    name: 'budget alerts',
    sql: [
      // The budget alerts sent: one row per budget life and period, event and threshold, inserted by
      // the instance that sends it, so each is sent once whichever instance sees the crossing first.
      `CREATE TABLE llmproxy_budget_alerts (
        ref TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        event TEXT NOT NULL,
        threshold_nanos INTEGER NOT NULL,
        spend_nanos INTEGER NOT NULL,
        sent_at TEXT NOT NULL
      )`,
    ],
  },
  {
    id: 10,
    name: 'responses',
    sql: [
      // Responses API answers the gateway keeps (store not false), for previous_response_id and the
      // retrieval routes: whose they are (a key's hash, or 'master'), where they were answered, the
      // conversation's items (for upstreams without state of their own) and the Response object.
      `CREATE TABLE llmproxy_responses (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        model_group TEXT NOT NULL,
        deployment_id TEXT,
        native INTEGER NOT NULL,
        input_items TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL
      )`,
      'CREATE INDEX llmproxy_responses_created ON llmproxy_responses (created_at)',
    ],
  },
  {
    id: 11,
    name: 'cache hits',
    // A call answered from the response cache: recorded, at no provider cost, and marked so.
    sql: ['ALTER TABLE llmproxy_spend_logs ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0'],
  },
  {
    id: 12,
    name: 'imports',
    sql: [
      // What `llm-proxy import litellm` brought over, row by row: a fingerprint of the fields it wrote
      // (a row unchanged in the source is not written again, so edits made here since stay) and the
      // source's spend then (a later run adds only the difference, so nothing counts twice). Also the
      // cursor of the spend logs read ('spend_logs', '').
      `CREATE TABLE llmproxy_imports (
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        spend_nanos INTEGER NOT NULL DEFAULT 0,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (source, kind, id)
      )`,
    ],
  },
];

/** The schema is written for SQLite; PostgreSQL needs 64-bit integers and doubles spelled out. */
function forPostgres(sql: string): string {
  return sql.replace(/\bINTEGER\b/g, 'BIGINT').replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}

export async function migrate(db: SqlConnection, upTo = Infinity): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS llmproxy_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const done = new Set((await db.all<{ id: number }>('SELECT id FROM llmproxy_migrations')).map((r) => Number(r.id)));
  for (const m of MIGRATIONS) {
    if (done.has(m.id) || m.id > upTo) continue;
    await db.transaction(async (tx) => {
      if (db.dialect === 'postgres') for (const sql of m.sql) await tx.run(forPostgres(sql));
      else if (!m.postgresOnly) for (const sql of m.sql) await tx.run(sql);
      await m.data?.(tx, new Date().toISOString());
      await tx.run('INSERT INTO llmproxy_migrations (id, name, applied_at) VALUES (?, ?, ?)', [m.id, m.name, new Date().toISOString()]);
    });
  }
}
