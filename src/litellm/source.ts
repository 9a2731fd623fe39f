// Reads a LiteLLM proxy's PostgreSQL database (the tables of its Prisma schema, litellm/proxy/schema.prisma),
// read-only. Prisma keeps DateTime as timestamp(3) without a time zone, in UTC: read as ISO-8601 text
// here, so that the reading process's time zone cannot shift them.
import pg from 'pg';

/** A daily aggregate's columns: its owner's, then the day's sums (a row per owner, key and model). */
function daily<E extends string>(entity: E) {
  return ['id', entity, 'date', 'api_key', 'model', 'model_group', 'prompt_tokens', 'completion_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'spend', 'api_requests', 'failed_requests'] as const;
}

/** The columns read from each table: the test checks each against the schema LiteLLM ships. */
export const COLUMNS = {
  LiteLLM_BudgetTable: [
    'budget_id', 'max_budget', 'soft_budget', 'max_parallel_requests', 'tpm_limit', 'rpm_limit', 'tpd_limit', 'model_max_budget',
    'budget_duration', 'budget_reset_at', 'allowed_models', 'temp_budget_increase', 'temp_budget_expiry', 'created_at', 'created_by',
    'updated_at', 'updated_by',
  ],
  LiteLLM_OrganizationTable: [
    'organization_id', 'organization_alias', 'budget_id', 'metadata', 'models', 'spend', 'model_spend', 'object_permission_id',
    'created_at', 'created_by', 'updated_at', 'updated_by',
  ],
  LiteLLM_OrganizationMembership: ['user_id', 'organization_id', 'user_role', 'spend', 'budget_id', 'created_at', 'updated_at'],
  LiteLLM_UserTable: [
    'user_id', 'user_alias', 'team_id', 'sso_user_id', 'organization_id', 'object_permission_id', 'password', 'teams', 'user_role',
    'max_budget', 'spend', 'user_email', 'models', 'metadata', 'max_parallel_requests', 'tpm_limit', 'rpm_limit', 'budget_duration',
    'budget_reset_at', 'allowed_cache_controls', 'policies', 'model_spend', 'model_max_budget', 'created_at', 'updated_at',
  ],
  LiteLLM_TeamTable: [
    'team_id', 'team_alias', 'organization_id', 'object_permission_id', 'admins', 'members', 'members_with_roles', 'metadata',
    'max_budget', 'soft_budget', 'spend', 'models', 'max_parallel_requests', 'tpm_limit', 'rpm_limit', 'tpd_limit', 'budget_duration',
    'budget_reset_at', 'blocked', 'created_at', 'updated_at', 'model_spend', 'model_max_budget', 'router_settings',
    'team_member_permissions', 'access_group_ids', 'policies', 'default_team_member_models', 'budget_limits', 'model_id',
  ],
  LiteLLM_TeamMembership: ['user_id', 'team_id', 'spend', 'total_spend', 'budget_id'],
  LiteLLM_EndUserTable: ['user_id', 'alias', 'spend', 'allowed_model_region', 'default_model', 'models', 'budget_id', 'object_permission_id', 'blocked'],
  LiteLLM_TagTable: ['tag_name', 'description', 'models', 'model_info', 'spend', 'budget_id', 'created_at', 'created_by', 'updated_at'],
  LiteLLM_VerificationToken: [
    'token', 'key_name', 'key_alias', 'spend', 'expires', 'models', 'aliases', 'config', 'router_settings', 'user_id', 'team_id',
    'agent_id', 'project_id', 'permissions', 'max_parallel_requests', 'metadata', 'blocked', 'tpm_limit', 'rpm_limit', 'tpd_limit',
    'max_budget', 'budget_duration', 'budget_reset_at', 'allowed_cache_controls', 'allowed_routes', 'key_type', 'policies',
    'access_group_ids', 'model_spend', 'model_max_budget', 'budget_fallbacks', 'budget_id', 'organization_id', 'object_permission_id',
    'created_at', 'created_by', 'updated_at', 'updated_by', 'auto_rotate', 'rotation_interval', 'budget_limits',
  ],
  LiteLLM_ProxyModelTable: ['model_id', 'model_name', 'litellm_params', 'model_info', 'blocked', 'created_at', 'updated_at'],
  LiteLLM_SpendLogs: [
    'request_id', 'call_type', 'api_key', 'spend', 'prompt_tokens', 'completion_tokens', 'startTime', 'endTime', 'request_duration_ms',
    'completionStartTime', 'model', 'model_id', 'model_group', 'custom_llm_provider', 'user', 'metadata', 'cache_hit', 'request_tags',
    'team_id', 'organization_id', 'end_user', 'status',
  ],
  LiteLLM_DailyUserSpend: daily('user_id'),
  LiteLLM_DailyTeamSpend: daily('team_id'),
  LiteLLM_DailyOrganizationSpend: daily('organization_id'),
  LiteLLM_DailyEndUserSpend: daily('end_user_id'),
  LiteLLM_DailyTagSpend: daily('tag'),
} as const;

/** LiteLLM's daily aggregates, one per kind of owner: the history that is left when spend logs are purged. */
export type DailyTable = 'LiteLLM_DailyUserSpend' | 'LiteLLM_DailyTeamSpend' | 'LiteLLM_DailyOrganizationSpend' | 'LiteLLM_DailyEndUserSpend' | 'LiteLLM_DailyTagSpend';

export type LiteLLMTable = keyof typeof COLUMNS;
export type Row = Record<string, unknown>;

/** The tables read in this order: what a row points at comes over before it. */
export const ENTITY_TABLES: readonly LiteLLMTable[] = [
  'LiteLLM_BudgetTable', 'LiteLLM_OrganizationTable', 'LiteLLM_UserTable', 'LiteLLM_OrganizationMembership', 'LiteLLM_TeamTable',
  'LiteLLM_TeamMembership', 'LiteLLM_EndUserTable', 'LiteLLM_TagTable', 'LiteLLM_VerificationToken', 'LiteLLM_ProxyModelTable',
];

const PRIMARY: Record<LiteLLMTable, string[]> = {
  LiteLLM_BudgetTable: ['budget_id'],
  LiteLLM_OrganizationTable: ['organization_id'],
  // (in the order of this gateway's keys for them, so that ids compare)
  LiteLLM_OrganizationMembership: ['organization_id', 'user_id'],
  LiteLLM_UserTable: ['user_id'],
  LiteLLM_TeamTable: ['team_id'],
  LiteLLM_TeamMembership: ['team_id', 'user_id'],
  LiteLLM_EndUserTable: ['user_id'],
  LiteLLM_TagTable: ['tag_name'],
  LiteLLM_VerificationToken: ['token'],
  LiteLLM_ProxyModelTable: ['model_id'],
  LiteLLM_SpendLogs: ['startTime', 'request_id'],
  LiteLLM_DailyUserSpend: ['id'],
  LiteLLM_DailyTeamSpend: ['id'],
  LiteLLM_DailyOrganizationSpend: ['id'],
  LiteLLM_DailyEndUserSpend: ['id'],
  LiteLLM_DailyTagSpend: ['id'],
};

const PAGE = 1_000;

export class LiteLLMSource {
  private readonly client: pg.Client;
  /** Columns of each table in this database (an older LiteLLM lacks some): those missing read as null. */
  private readonly present = new Map<string, Set<string>>();

  private constructor(client: pg.Client) {
    this.client = client;
  }

  static async open(url: string): Promise<LiteLLMSource> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    // Read-only, whatever the role may do: the import never writes to LiteLLM's database.
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    const source = new LiteLLMSource(client);
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name LIKE 'LiteLLM\\_%'`,
    );
    for (const r of rows) {
      const set = source.present.get(r.table_name) ?? new Set<string>();
      set.add(r.column_name);
      source.present.set(r.table_name, set);
    }
    if (!source.present.has('LiteLLM_VerificationToken')) {
      await client.end();
      throw new Error('this database has no LiteLLM_VerificationToken table: it is not a LiteLLM proxy database (or its schema is not the current one of search_path)');
    }
    return source;
  }

  has(table: LiteLLMTable): boolean {
    return this.present.has(table);
  }

  private select(table: LiteLLMTable): string {
    const cols = this.present.get(table)!;
    return COLUMNS[table]
      .map((c) => {
        if (!cols.has(c)) return `NULL AS "${c}"`;
        const isTime = /(_at|Time|expires|_expiry)$/.test(c);
        return isTime ? `to_char("${c}", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "${c}"` : `"${c}"`;
      })
      .join(', ');
  }

  /** Every row of an entity table, a page at a time, in primary key order. */
  async *rows(table: LiteLLMTable): AsyncGenerator<Row[]> {
    if (!this.present.has(table)) return;
    const pk = PRIMARY[table];
    let after: unknown[] | null = null;
    for (;;) {
      const where: string = after ? `WHERE (${pk.map((c) => `"${c}"`).join(', ')}) > (${pk.map((_, i) => `$${i + 1}`).join(', ')})` : '';
      const { rows }: { rows: Row[] } = await this.client.query<Row>(
        `SELECT ${this.select(table)} FROM "${table}" ${where} ORDER BY ${pk.map((c) => `"${c}"`).join(', ')} LIMIT ${PAGE}`,
        after ?? [],
      );
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < PAGE) return;
      const last: Row = rows.at(-1)!;
      after = pk.map((c) => last[c]);
    }
  }

  /** The primary keys of every row of a table (joined by U+001F when there are several columns). */
  async ids(table: LiteLLMTable): Promise<string[]> {
    if (!this.present.has(table)) return [];
    const pk = PRIMARY[table];
    const { rows } = await this.client.query<unknown[]>({ text: `SELECT ${pk.map((c) => `"${c}"`).join(', ')} FROM "${table}"`, rowMode: 'array' });
    return rows.map((r) => r.map(String).join('\u001f'));
  }

  /**
   * Spend logs started at or after `from` (ISO-8601), oldest first, a page at a time. Paged by
   * (startTime, request_id) on the index LiteLLM keeps for it; the times compared are the stored ones.
   */
  async *spendLogs(from: string | null): AsyncGenerator<Row[]> {
    if (!this.present.has('LiteLLM_SpendLogs')) return;
    let after: [string, string] | null = null;
    for (;;) {
      const params: unknown[] = [];
      let where = '';
      if (after) {
        params.push(after[0], after[1]);
        where = `WHERE (l."startTime", l.request_id) > ($1::timestamptz AT TIME ZONE 'UTC', $2)`;
      } else if (from) {
        params.push(from);
        where = `WHERE l."startTime" >= $1::timestamptz AT TIME ZONE 'UTC'`;
      }
      const { rows } = await this.client.query<Row>(
        // Ordered by the table's column, not the output's text of the same name: the index serves it.
        `SELECT ${this.select('LiteLLM_SpendLogs')} FROM "LiteLLM_SpendLogs" l ${where} ORDER BY l."startTime", l.request_id LIMIT ${PAGE}`,
        params,
      );
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < PAGE) return;
      const last = rows.at(-1)!;
      after = [String(last.startTime), String(last.request_id)];
    }
  }

  /**
   * For a column unique here but not in LiteLLM's database (key aliases, user emails): each value more
   * than one row holds, and the row that keeps it, the oldest (by created_at, then primary key).
   */
  async firstHolders(table: 'LiteLLM_VerificationToken' | 'LiteLLM_UserTable', column: string, lower: boolean): Promise<Map<string, string>> {
    if (!this.present.get(table)?.has(column)) return new Map();
    const pk = PRIMARY[table][0]!;
    const v = lower ? `lower("${column}")` : `"${column}"`;
    const { rows } = await this.client.query<{ v: string; id: string }>(
      `SELECT DISTINCT ON (${v}) ${v} AS v, "${pk}" AS id FROM "${table}"
       WHERE ${v} IN (SELECT ${v} FROM "${table}" WHERE "${column}" IS NOT NULL GROUP BY ${v} HAVING COUNT(*) > 1)
       ORDER BY ${v}, created_at NULLS LAST, "${pk}"`,
    );
    return new Map(rows.map((r) => [r.v, r.id]));
  }

  /** The day (YYYY-MM-DD, UTC) of the oldest spend log kept; null when there is none. */
  async firstLogDay(): Promise<string | null> {
    if (!this.present.has('LiteLLM_SpendLogs')) return null;
    const { rows } = await this.client.query<{ d: string | null }>(`SELECT to_char(MIN("startTime"), 'YYYY-MM-DD') AS d FROM "LiteLLM_SpendLogs"`);
    return rows[0]?.d ?? null;
  }

  async count(table: LiteLLMTable): Promise<number> {
    if (!this.present.has(table)) return 0;
    const { rows } = await this.client.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM "${table}"`);
    return Number(rows[0]!.n);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
