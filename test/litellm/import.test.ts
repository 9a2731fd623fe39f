// `llm-proxy import litellm` against a real LiteLLM database: made by LiteLLM's own migrations from
// its PyPI packages, filled with rows shaped as LiteLLM writes them, imported into SQLite and into
// PostgreSQL by the real command; then the fixture's raw keys are used against the gateway.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';
import pg from 'pg';
import { parse } from 'yaml';
import { hashKey } from '../../src/auth/keys.ts';
import { verifyPassword } from '../../src/auth/passwords.ts';
import { COLUMNS } from '../../src/litellm/source.ts';
import type { Db } from '../../src/store/db.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { POSTGRES, freshPostgresUrl } from '../helpers/databases.ts';
import { call, fakeModels, REPO, startInProcess } from '../helpers/gateway.ts';
import { makeLiteLLMDatabase, type LiteLLMDatabase } from '../helpers/litellm-db.ts';
import { tempDir } from '../helpers/temp.ts';

const run = promisify(execFile);
const SALT = 'sk-litellm-salt-0123456789';
/**
 * Made by PyNaCl's SecretBox and pyca/cryptography's AESGCM under sha256(SALT), as LiteLLM's
 * encrypt_value_helper makes them (the legacy default, and encryption_algorithm: aes-256-gcm).
 */
const CIPHER = {
  legacyModel: 'mkyEJeCdvQRrzVVM0rZEYROxNRdox6y_IUcSUmWiEMyTC_QGWS1I97TOojHCnfzunkBLYG2f0Rmnww==', // openai/gpt-4o-mini
  legacyKey: 'DTZeHvI1tuCi_fK-X4bsecDtRQhCFX-5E1qUjSiUT4XjymVCXCcmYVoMLBIBcpo3HpIIcbVrff2chw==', // sk-upstream-legacy
  gcmModel: 'v2:gcm:-0eidI6BOg3omfwdpzeDUgteBUzULyuGYW8N7BHUOiQgt2e4aki-YUoia9qtVnMVatW1fjC4jnkPaIklTy2ZzA==', // anthropic/claude-sonnet-4-5-20250929
  gcmKey: 'v2:gcm:wUkJ4Xnc3oVDqkUImga9Uv7_ot1TRAvfAKQJ_mtddV_ZrseQNTO7w38loTqF', // sk-ant-gcm-secret
};

const RAW = {
  team: 'sk-litellm-team-key-000000000001',
  spent: 'sk-litellm-spent-key-00000000002',
  blocked: 'sk-litellm-blocked-key-000000003',
  expired: 'sk-litellm-expired-key-000000004',
  bob: 'sk-litellm-bob-key-00000000000005',
  clash: 'sk-litellm-clash-key-00000000006',
  // An old LiteLLM row may hold the raw key itself, not its hash.
  legacy: 'sk-legacy-raw-0007',
};

/** The spent key after LiteLLM's /key/regenerate. */
const ROTATED = 'sk-litellm-spent-key-rotated-002';
const day = 86_400_000;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace('Z', '');
/** A day whose spend logs LiteLLM purged: only its daily aggregates are left. */
const PURGED_DAY = at(-10 * day).slice(0, 10);

/** Rows as LiteLLM's proxy writes them (column names and JSON shapes of its Prisma schema). */
async function fill(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const q = (sql: string, params: unknown[] = []) => c.query(sql, params);
  try {
    await q(`INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, budget_duration, budget_reset_at, tpd_limit, created_by, updated_by)
             VALUES ('budget-shared', 50, '30d', $1, 10000, 'admin', 'admin'), ('budget-customer', 1, NULL, NULL, NULL, 'admin', 'admin')`, [at(10 * day)]);
    await q(`INSERT INTO "LiteLLM_OrganizationTable" (organization_id, organization_alias, budget_id, models, spend, created_by, updated_by)
             VALUES ('org-1', 'Acme', 'budget-shared', '{gpt-4o}', 3.5, 'admin', 'admin')`);
    // Alice's password as LiteLLM's hash_password keeps it (scrypt, N 16384, r 8, p 1, salt 16, key 32), Bob's as older releases did.
    const salt = randomBytes(16);
    const alicePassword = `scrypt:${Buffer.concat([salt, scryptSync('alice-secret-pw', salt, 32, { N: 16384, r: 8, p: 1 })]).toString('base64')}`;
    await q(`INSERT INTO "LiteLLM_UserTable" (user_id, user_email, user_role, max_budget, spend, models, password, teams)
             VALUES ('u-alice', 'alice@example.com', 'internal_user', 100, 2, '{}', '${alicePassword}', '{team-a}'),
                    ('u-bob', 'Bob@Example.com', 'internal_user_viewer', NULL, 0.25, '{}', '${hashKey('hunter22')}', '{team-a}'),
                    ('u-carol', 'carol@example.com', 'team', NULL, 0, '{}', NULL, '{}')`);
    await q(`INSERT INTO "LiteLLM_OrganizationMembership" (user_id, organization_id, user_role, spend) VALUES ('u-alice', 'org-1', 'org_admin', 1)`);
    await q(`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, organization_id, admins, members, members_with_roles, max_budget, spend, models, tpd_limit, budget_duration, budget_reset_at)
             VALUES ('team-a', 'Platform', 'org-1', '{}', '{}', $1, 20, 4, '{gpt-4o}', 1000, '7d', $2)`,
      [JSON.stringify([{ role: 'admin', user_id: 'u-alice', user_email: 'alice@example.com' }, { role: 'user', user_id: 'u-bob', user_email: null }]), at(3 * day)]);
    await q(`INSERT INTO "LiteLLM_TeamMembership" (user_id, team_id, spend) VALUES ('u-alice', 'team-a', 1.25)`);
    await q(`INSERT INTO "LiteLLM_EndUserTable" (user_id, alias, spend, budget_id, blocked) VALUES ('cust-1', 'Customer One', 0.5, 'budget-customer', false), ('cust-blocked', NULL, 0, NULL, true)`);
    await q(`INSERT INTO "LiteLLM_TagTable" (tag_name, description, models, spend, created_by) VALUES ('research', 'R&D', '{}', 0.75, 'admin')`);
    const key = (raw: string, cols: Record<string, unknown>, stored = hashKey(raw)) => {
      const all: Record<string, unknown> = { token: stored, key_name: `sk-...${raw.slice(-4)}`, models: '{}', created_by: 'admin', updated_by: 'admin', ...cols };
      const names = Object.keys(all);
      return q(`INSERT INTO "LiteLLM_VerificationToken" (${names.map((n) => `"${n}"`).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(all));
    };
    await key(RAW.team, { key_alias: 'platform-prod', team_id: 'team-a', user_id: 'u-alice', organization_id: 'org-1', models: '{gpt-4o}', max_budget: 5, spend: 4, budget_duration: '30d', budget_reset_at: at(20 * day), metadata: { owner: 'platform' }, created_at: at(-30 * day) });
    await key(RAW.spent, { key_alias: 'spent', max_budget: 1, spend: 1 });
    await key(RAW.blocked, { key_alias: 'blocked', blocked: true });
    await key(RAW.expired, { key_alias: 'expired', expires: at(-day) });
    await key(RAW.bob, {
      user_id: 'u-bob', team_id: 'team-a', spend: 0.25, tpd_limit: 500, metadata: { tags: ['research'] },
      model_max_budget: { 'gpt-4o': { budget_limit: 0.5, time_period: '1d' }, broken: { budget_limit: 1 } },
    });
    // LiteLLM's database does not keep aliases unique; the older key keeps it here.
    await key(RAW.clash, { key_alias: 'platform-prod', rpm_limit: 7, created_at: at(-day) });
    await key(RAW.legacy, { key_name: 'sk-...0007' }, RAW.legacy);
    // Three calls of the team key yesterday (one failed), with cache reads as LiteLLM records them.
    const log = (id: string, offsetMs: number, cols: Record<string, unknown>) => {
      const all: Record<string, unknown> = {
        request_id: id, call_type: 'acompletion', api_key: hashKey(RAW.team), spend: 0.01, total_tokens: 150, prompt_tokens: 100, completion_tokens: 50,
        startTime: at(offsetMs), endTime: at(offsetMs + 1200), completionStartTime: at(offsetMs + 300), model: 'gpt-4o', model_group: 'gpt-4o',
        custom_llm_provider: 'openai', user: 'u-alice', team_id: 'team-a', organization_id: 'org-1', end_user: '', cache_hit: 'False',
        request_tags: JSON.stringify(['research']), status: 'success', metadata: { additional_usage_values: { cache_read_input_tokens: 40 } }, ...cols,
      };
      const names = Object.keys(all);
      return q(`INSERT INTO "LiteLLM_SpendLogs" (${names.map((n) => `"${n}"`).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(all));
    };
    await log('chatcmpl-1', -day, {});
    await log('chatcmpl-2', -day + 60_000, { end_user: 'cust-1', spend: 0.02 });
    await log('chatcmpl-3', -day + 120_000, { status: 'failure', spend: 0, prompt_tokens: 0, completion_tokens: 0, metadata: { error_information: { error_code: '429', error_class: 'RateLimitError' } } });
    // LiteLLM's daily aggregates: one for a day its spend logs were purged from, one for a day they cover.
    const dailyRow = (table: string, owner: string, ownerId: string, id: string, date: string, spend: number) =>
      q(`INSERT INTO "${table}" (id, ${owner}, date, api_key, model, model_group, custom_llm_provider, prompt_tokens, completion_tokens, cache_read_input_tokens, spend, api_requests, successful_requests, failed_requests, updated_at)
         VALUES ($1, $2, $3, $4, 'gpt-4o', 'gpt-4o', 'openai', 10000, 5000, 1000, $5, 100, 97, 3, now())`, [id, ownerId, date, hashKey(RAW.team), spend]);
    await dailyRow('LiteLLM_DailyUserSpend', 'user_id', 'u-alice', 'du-old', PURGED_DAY, 2.5);
    await dailyRow('LiteLLM_DailyUserSpend', 'user_id', 'u-alice', 'du-logged', at(-day).slice(0, 10), 0.03);
    await dailyRow('LiteLLM_DailyTeamSpend', 'team_id', 'team-a', 'dt-old', PURGED_DAY, 2.5);
    await dailyRow('LiteLLM_DailyTagSpend', 'tag', 'research', 'dg-old', PURGED_DAY, 2.5);
    const model = (id: string, name: string, params: Record<string, unknown>, blocked = false) =>
      q(`INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, model_info, blocked, created_by, updated_by) VALUES ($1, $2, $3, $4, $5, 'admin', 'admin')`,
        [id, name, params, { id, mode: 'chat' }, blocked]);
    await model('m-legacy', 'gpt-4o-mini', { model: CIPHER.legacyModel, api_key: CIPHER.legacyKey, rpm: 60 });
    await model('m-gcm', 'claude', { model: CIPHER.gcmModel, api_key: CIPHER.gcmKey });
    await model('m-blocked', 'old-model', { model: CIPHER.legacyModel }, true);
  } finally {
    await c.end();
  }
}

let litellm: LiteLLMDatabase | null = null;
let upstream: FakeUpstream;

before(async () => {
  if (!POSTGRES) return;
  litellm = await makeLiteLLMDatabase();
  if (litellm) await fill(litellm.url);
  upstream = await startFakeOpenAI();
});
after(async () => {
  await upstream?.close();
});

const skip = () => (!POSTGRES ? 'TEST_POSTGRES_URL is not set (.ci/run sets it)' : !litellm ? 'PyPI is not reachable for LiteLLM\'s schema' : false);

test('every column the import reads is in the schema LiteLLM ships, and in the database its migrations make', async (t) => {
  if (skip()) return t.skip(String(skip()));
  const c = new pg.Client({ connectionString: litellm!.url });
  await c.connect();
  try {
    for (const [table, cols] of Object.entries(COLUMNS)) {
      const inSchema = litellm!.schema.get(table);
      assert.ok(inSchema, `schema.prisma has model ${table}`);
      const { rows } = await c.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_name = $1', [table]);
      const inDb = new Set(rows.map((r) => r.column_name));
      for (const col of cols) {
        assert.ok(inSchema.has(col), `${table}.${col} is in litellm 1.110.2's schema.prisma`);
        assert.ok(inDb.has(col), `${table}.${col} is in the database litellm-proxy-extras' migrations make`);
      }
    }
  } finally {
    await c.end();
  }
});

/** The real command, in a folder of its own (models are written there). */
async function importCmd(cwd: string, databaseUrl: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, 'src/main.ts'), 'import', 'litellm', '--from', litellm!.url, ...args], {
      cwd,
      env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, ...env },
      timeout: 120_000,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const usd = (n: unknown) => Math.round(Number(n) * 1e9);

for (const target of ['sqlite', 'postgres'] as const) {
  describe(`into ${target}`, () => {
    let dir: string;
    let databaseUrl: string;
    let open: () => Db;

    before(async () => {
      if (skip()) return;
      dir = tempDir(`import-${target}`);
      if (target === 'postgres') {
        databaseUrl = await freshPostgresUrl();
        open = () => openPostgres(databaseUrl);
      } else {
        databaseUrl = `sqlite:${join(dir, 'gateway.db')}`;
        open = () => openSqlite(join(dir, 'gateway.db'));
      }
    });

    test('a dry run names what would come across and what cannot, and writes nothing', async (t) => {
      if (skip()) return t.skip(String(skip()));
      const r = await importCmd(dir, databaseUrl, ['--dry-run'], { LITELLM_SALT_KEY: SALT });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /Dry run: nothing was written/);
      assert.match(r.out, /LiteLLM_VerificationToken\s+7\s+7\s+0\s+0/);
      assert.match(r.out, /LiteLLM_SpendLogs\s+3\s+3 new/);
      assert.match(r.out, /LiteLLM_Daily\*Spend\s+3 rows to add to the hourly rollups/);
      for (const field of ['LiteLLM_VerificationToken.tpd_limit (1 row)', 'LiteLLM_TeamTable.tpd_limit', 'LiteLLM_BudgetTable.tpd_limit']) {
        assert.ok(r.out.includes(field), `the dry run names ${field}:\n${r.out}`);
      }
      assert.match(r.out, /key sk-\.\.\.0006: key_alias "platform-prod" is also another's in LiteLLM \(the oldest keeps it\); imported without it/);
      assert.match(r.out, /user u-carol: role team does not exist here; imported as internal_user/);
      assert.match(r.out, /user u-bob: the dashboard password is an unsalted SHA-256 of an older LiteLLM; not imported/);
      assert.match(r.out, /model_max_budget for broken has no budget_limit or no time_period/);
      assert.ok(!existsSync(join(dir, 'litellm-models.yaml')), 'no models file in a dry run');
      const db = open();
      try {
        assert.equal(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM llmproxy_keys'))!.n), 0);
        assert.equal(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM llmproxy_imports'))!.n), 0);
      } finally {
        await db.close();
      }
    });

    test('the import: raw keys authenticate and are held to their models and budgets; spend and history continue', async (t) => {
      if (skip()) return t.skip(String(skip()));
      // Without the salt key, stored models are skipped with a clear line; everything else comes across.
      const first = await importCmd(dir, databaseUrl, []);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /2 models stored in LiteLLM's database have encrypted credentials: set LITELLM_SALT_KEY/);
      assert.match(first.out, /Imported:/);
      assert.match(first.out, /LiteLLM_VerificationToken\s+7\s+7\s+0\s+0/);
      assert.ok(!existsSync(join(dir, 'litellm-models.yaml')));

      const gw = await startInProcess(fakeModels(upstream.url, ['gpt-4o', 'gpt-4']), { db: open() });
      try {
        const chat = (key: string, model = 'gpt-4o') => call(gw.url, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, key);
        assert.equal((await chat(RAW.team)).status, 200, 'the team key authenticates unchanged');
        assert.equal((await chat(RAW.legacy)).status, 200, 'a key LiteLLM kept unhashed authenticates too');
        const wrongModel = await chat(RAW.team, 'gpt-4');
        assert.equal(wrongModel.status, 403, 'held to its models');
        assert.match(wrongModel.body.error.message, /gpt-4/);
        const spent = await chat(RAW.spent);
        assert.equal(spent.status, 429, 'a key whose LiteLLM spend reached its budget is refused');
        assert.equal(spent.body.error.type, 'budget_exceeded');
        assert.equal((await chat(RAW.blocked)).status, 401, 'blocked stays blocked');
        const expired = await chat(RAW.expired);
        assert.equal(expired.status, 400, 'expired stays expired');
        assert.match(expired.body.error.message, /expired/i);

        const info = await call(gw.url, 'GET', `/key/info?key=${RAW.team}`);
        assert.equal(info.status, 200);
        assert.equal(info.body.info.key_alias, 'platform-prod');
        assert.equal(info.body.info.team_id, 'team-a');
        assert.equal(info.body.info.max_budget, 5);
        assert.equal(info.body.info.budget_duration, '30d');
        assert.deepEqual(info.body.info.models, ['gpt-4o']);
        assert.equal(info.body.info.metadata.owner, 'platform');
        assert.ok(info.body.info.spend >= 4 && info.body.info.spend < 4.01, `LiteLLM's spend (4) plus the one call here: ${info.body.info.spend}`);
        const bob = (await call(gw.url, 'GET', `/key/info?key=${RAW.bob}`)).body.info;
        assert.deepEqual(bob.model_max_budget, { 'gpt-4o': { budget_limit: 0.5, time_period: '1d' } });
        assert.deepEqual(bob.metadata.tags, ['research']);
        const clash = (await call(gw.url, 'GET', `/key/info?key=${RAW.clash}`)).body.info;
        assert.equal(clash.key_alias, null);
        assert.equal(clash.rpm_limit, 7);

        const team = (await call(gw.url, 'GET', '/team/info?team_id=team-a')).body;
        assert.equal(team.team_info.team_alias, 'Platform');
        assert.equal(team.team_info.max_budget, 20);
        assert.equal(team.team_info.organization_id, 'org-1');
        const roles = Object.fromEntries(team.team_info.members_with_roles.map((m: { user_id: string; role: string }) => [m.user_id, m.role]));
        assert.deepEqual(roles, { 'u-alice': 'admin', 'u-bob': 'user' });
        const alice = (await call(gw.url, 'GET', '/user/info?user_id=u-alice')).body;
        assert.equal(alice.user_info.user_email, 'alice@example.com');
        assert.equal(alice.user_info.max_budget, 100);
        assert.equal((await call(gw.url, 'GET', '/user/info?user_id=u-carol')).body.user_info.user_role, 'internal_user');
        const org = (await call(gw.url, 'GET', '/organization/info?organization_id=org-1')).body;
        assert.equal(org.organization_alias, 'Acme');
        assert.equal(org.litellm_budget_table.max_budget, 50);
        assert.ok(org.spend >= 3.5);
        const customer = (await call(gw.url, 'GET', '/customer/info?end_user_id=cust-1')).body;
        assert.equal(customer.spend, 0.5);
        assert.equal(customer.litellm_budget_table.max_budget, 1);
        assert.equal((await call(gw.url, 'GET', '/customer/info?end_user_id=cust-blocked')).body.blocked, true);
      } finally {
        await gw.close();
      }

      const db = open();
      try {
        const logs = await db.all<{ request_id: string; cost_nanos: number; input_tokens: number; cache_read_tokens: number; status: string; http_status: number; tags: string }>(
          "SELECT request_id, cost_nanos, input_tokens, cache_read_tokens, status, http_status, tags FROM llmproxy_spend_logs WHERE request_id LIKE 'chatcmpl-%' ORDER BY request_id",
        );
        assert.deepEqual(logs.map((l) => [l.request_id, Number(l.cost_nanos), Number(l.input_tokens), Number(l.cache_read_tokens), l.status, Number(l.http_status)]), [
          ['chatcmpl-1', 10_000_000, 60, 40, 'success', 200],
          ['chatcmpl-2', 20_000_000, 60, 40, 'success', 200],
          ['chatcmpl-3', 0, 0, 0, 'error', 429],
        ]);
        assert.deepEqual(JSON.parse(logs[0]!.tags), ['research']);
        // History is rolled up for the dashboards, and counted in nobody's spend a second time.
        const hourly = await db.get<{ cost: number; n: number }>('SELECT SUM(cost_nanos) AS cost, SUM(requests) AS n FROM llmproxy_spend_hourly WHERE key_token = ?', [hashKey(RAW.team)]);
        assert.ok(Number(hourly!.cost) >= 30_000_000 && Number(hourly!.n) >= 4);
        const tagRoll = await db.get<{ cost: number }>("SELECT SUM(cost_nanos) AS cost FROM llmproxy_spend_entity_hourly WHERE entity_kind = 'tag' AND entity_id = 'research'");
        assert.equal(Number(tagRoll!.cost), 30_000_000 + usd(2.5), 'its logs, and its aggregate of the purged day');
        // The purged day comes from the daily aggregates, at its first hour; a day the logs cover, from them alone.
        const purged = await db.get<{ requests: number; errors: number; input_tokens: number; cache_read_tokens: number; cost_nanos: number }>(
          'SELECT requests, errors, input_tokens, cache_read_tokens, cost_nanos FROM llmproxy_spend_hourly WHERE key_token = ? AND hour = ?', [hashKey(RAW.team), `${PURGED_DAY}T00:00:00Z`]);
        assert.deepEqual([purged!.requests, purged!.errors, purged!.input_tokens, purged!.cache_read_tokens, purged!.cost_nanos].map(Number), [100, 3, 9000, 1000, usd(2.5)]);
        const logged = await db.get<{ cost: number }>("SELECT SUM(cost_nanos) AS cost FROM llmproxy_spend_hourly WHERE key_token = ? AND hour LIKE ?", [hashKey(RAW.team), `${at(-day).slice(0, 10)}%`]);
        assert.equal(Number(logged!.cost), 30_000_000, 'a day the spend logs cover is not counted again from its aggregate');
        for (const [kind, id] of [['user', 'u-alice'], ['team', 'team-a'], ['tag', 'research']] as const) {
          const e = await db.get<{ cost_nanos: number }>('SELECT cost_nanos FROM llmproxy_spend_entity_hourly WHERE entity_kind = ? AND entity_id = ? AND hour = ?', [kind, id, `${PURGED_DAY}T00:00:00Z`]);
          assert.equal(Number(e?.cost_nanos), usd(2.5), `${kind} ${id} on the purged day`);
        }
        const tag = await db.get<{ spend_nanos: number }>("SELECT spend_nanos FROM llmproxy_tags WHERE tag_name = 'research'");
        assert.equal(Number(tag!.spend_nanos), usd(0.75), 'the tag\'s spend is LiteLLM\'s, not added to by its history');
        const audit = await db.get<{ changed_by: string; object_id: string; updated_values: string }>("SELECT changed_by, object_id, updated_values FROM llmproxy_audit_log WHERE action = 'imported'");
        assert.equal(audit!.changed_by, 'llm-proxy import litellm');
        assert.match(audit!.object_id, /^postgresql:\/\/\*\*\*@/, 'the source, without its credentials');
        assert.equal(JSON.parse(audit!.updated_values).tables.LiteLLM_VerificationToken.created, 7);
        const hash = await db.get<{ password_hash: string }>("SELECT password_hash FROM llmproxy_users WHERE user_id = 'u-alice'");
        assert.equal(await verifyPassword('alice-secret-pw', hash!.password_hash), true, 'Alice signs in with the password she had');
        assert.equal(await verifyPassword('wrong', hash!.password_hash), false);
        const member = await db.get<{ spend_nanos: number; role: string }>("SELECT spend_nanos, role FROM llmproxy_team_members WHERE team_id = 'team-a' AND user_id = 'u-alice'");
        assert.equal(member!.role, 'admin');
        assert.ok(Number(member!.spend_nanos) >= usd(1.25));
      } finally {
        await db.close();
      }
    });

    test('run again: nothing doubles; after more traffic on LiteLLM only the new spend and rows come over', async (t) => {
      if (skip()) return t.skip(String(skip()));
      const spendOf = async (token: string) => {
        const db = open();
        try {
          return Number((await db.get<{ s: number }>('SELECT spend_nanos AS s FROM llmproxy_keys WHERE token = ?', [token]))!.s);
        } finally {
          await db.close();
        }
      };
      const before = await spendOf(hashKey(RAW.team));
      const again = await importCmd(dir, databaseUrl, []);
      assert.equal(again.code, 0, again.err);
      for (const [table, n] of [['LiteLLM_BudgetTable', 2], ['LiteLLM_OrganizationTable', 1], ['LiteLLM_UserTable', 3], ['LiteLLM_OrganizationMembership', 1], ['LiteLLM_TeamTable', 1], ['LiteLLM_TeamMembership', 1], ['LiteLLM_EndUserTable', 2], ['LiteLLM_TagTable', 1], ['LiteLLM_VerificationToken', 7]] as const) {
        assert.match(again.out, new RegExp(`${table}\\s+${n}\\s+0\\s+0\\s+${n + (table === 'LiteLLM_TeamMembership' ? 1 : 0)}\\n`), `${table} is unchanged:\n${again.out}`);
      }
      assert.match(again.out, /LiteLLM_SpendLogs\s+3\s+0 new/);
      assert.doesNotMatch(again.out, /LiteLLM_Daily/, 'aggregates already brought over add nothing');
      assert.equal(await spendOf(hashKey(RAW.team)), before, 'the same import twice adds nothing');

      // More traffic on LiteLLM during the cut-over: the key's spend grows by 1.5 and a call is logged.
      const c = new pg.Client({ connectionString: litellm!.url });
      await c.connect();
      try {
        await c.query('UPDATE "LiteLLM_VerificationToken" SET spend = spend + 1.5, updated_at = now() WHERE token = $1', [hashKey(RAW.team)]);
        await c.query(`INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, prompt_tokens, completion_tokens, "startTime", "endTime", model, model_group)
                       VALUES ('chatcmpl-4', 'acompletion', $1, 1.5, 10, 10, $2, $2, 'gpt-4o', 'gpt-4o')`, [hashKey(RAW.team), at(0)]);
        await c.query(`UPDATE "LiteLLM_TeamTable" SET max_budget = 25, updated_at = now() WHERE team_id = 'team-a'`);
        await c.query(`UPDATE "LiteLLM_DailyUserSpend" SET spend = spend + 1, api_requests = api_requests + 1 WHERE id = 'du-old'`);
        // The spent key is regenerated in LiteLLM (/key/regenerate gives it a new token): the old one must stop working here.
        await c.query('UPDATE "LiteLLM_VerificationToken" SET token = $1 WHERE token = $2', [hashKey(ROTATED), hashKey(RAW.spent)]);
        // A key deleted here after the import stays deleted.
        const mine = open();
        try {
          await mine.run('DELETE FROM llmproxy_keys WHERE token = ?', [hashKey(RAW.blocked)]);
        } finally {
          await mine.close();
        }
        const later = await importCmd(dir, databaseUrl, [], { LITELLM_SALT_KEY: SALT });
        assert.equal(later.code, 0, later.err);
        assert.match(
          later.out,
          /LiteLLM_VerificationToken\s+7\s+1\s+0\s+5  \(1 deleted here since the last import, left deleted; 1 deleted in LiteLLM since the last import, deleted here\)/,
          'a change of spend alone is not a change of the key',
        );
        assert.match(later.out, /LiteLLM_TeamTable\s+1\s+0\s+1\s+0/);
        assert.doesNotMatch(later.out, /no longer in LiteLLM/, 'no row is missing from LiteLLM but the regenerated key');
        assert.match(later.out, /LiteLLM_SpendLogs\s+\d+\s+1 new/);
        assert.equal(await spendOf(hashKey(RAW.team)), before + usd(1.5), 'exactly the spend LiteLLM added since');
        assert.match(later.out, /LiteLLM_Daily\*Spend\s+1 rows added/);
      } finally {
        // Put the fixture back for the other target's tests.
        await c.query('UPDATE "LiteLLM_VerificationToken" SET spend = spend - 1.5 WHERE token = $1', [hashKey(RAW.team)]);
        await c.query(`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = 'chatcmpl-4'`);
        await c.query(`UPDATE "LiteLLM_TeamTable" SET max_budget = 20 WHERE team_id = 'team-a'`);
        await c.query(`UPDATE "LiteLLM_DailyUserSpend" SET spend = spend - 1, api_requests = api_requests - 1 WHERE id = 'du-old'`);
        await c.query('UPDATE "LiteLLM_VerificationToken" SET token = $1 WHERE token = $2', [hashKey(RAW.spent), hashKey(ROTATED)]);
        await c.end();
      }
      const db = open();
      try {
        const team = await db.get<{ max_budget_nanos: number }>("SELECT max_budget_nanos FROM llmproxy_teams WHERE team_id = 'team-a'");
        assert.equal(Number(team!.max_budget_nanos), usd(25));
        assert.equal(await db.get('SELECT token FROM llmproxy_keys WHERE token = ?', [hashKey(RAW.blocked)]), undefined);
        assert.equal(await db.get('SELECT token FROM llmproxy_keys WHERE token = ?', [hashKey(RAW.spent)]), undefined, 'a key LiteLLM no longer has is gone');
        const rotated = await db.get<{ key_alias: string }>('SELECT key_alias FROM llmproxy_keys WHERE token = ?', [hashKey(ROTATED)]);
        assert.equal(rotated?.key_alias, 'spent', 'and its regenerated one came over, with its alias');
        const purged = await db.get<{ requests: number; cost_nanos: number }>('SELECT requests, cost_nanos FROM llmproxy_spend_hourly WHERE key_token = ? AND hour = ?', [hashKey(RAW.team), `${PURGED_DAY}T00:00:00Z`]);
        assert.deepEqual([Number(purged!.requests), Number(purged!.cost_nanos)], [101, usd(3.5)], 'an aggregate that grew adds only its growth');
      } finally {
        await db.close();
      }

      // With the salt key, stored models came across as model_list entries, their credentials in a .env file.
      const yaml = readFileSync(join(dir, 'litellm-models.yaml'), 'utf8');
      const env = parseEnv(readFileSync(join(dir, 'litellm-models.env'), 'utf8'));
      assert.deepEqual(parse(yaml).model_list, [
        { model_name: 'claude', litellm_params: { model: 'anthropic/claude-sonnet-4-5-20250929', api_key: 'os.environ/LITELLM_MODEL_CLAUDE_API_KEY' }, model_info: { id: 'm-gcm', mode: 'chat' } },
        { model_name: 'gpt-4o-mini', litellm_params: { rpm: 60, model: 'openai/gpt-4o-mini', api_key: 'os.environ/LITELLM_MODEL_GPT_4O_MINI_API_KEY' }, model_info: { id: 'm-legacy', mode: 'chat' } },
      ]);
      assert.doesNotMatch(yaml, /old-model|sk-upstream-legacy|sk-ant-gcm-secret/);
      assert.deepEqual(env, { LITELLM_MODEL_GPT_4O_MINI_API_KEY: 'sk-upstream-legacy', LITELLM_MODEL_CLAUDE_API_KEY: 'sk-ant-gcm-secret' });

      const wrong = await importCmd(dir, databaseUrl, ['--dry-run'], { LITELLM_SALT_KEY: 'sk-not-the-salt' });
      assert.match(wrong.out, /model gpt-4o-mini \(m-legacy\): litellm_params\.model cannot be decrypted with the key given/);
      assert.match(wrong.out, /model claude \(m-gcm\): litellm_params\.model cannot be decrypted/);
    });
  });
}

test('bad arguments are refused with the usage', async (t) => {
  if (skip()) return t.skip(String(skip()));
  const cwd = tempDir('import-args');
  const bad = await run(process.execPath, [join(REPO, 'src/main.ts'), 'import', 'portkey', '--from', 'postgresql://x@127.0.0.1/x'], { cwd }).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /import takes one source, litellm/);
  const noFrom = await run(process.execPath, [join(REPO, 'src/main.ts'), 'import', 'litellm', '--from', 'mysql://x'], { cwd }).catch((e) => e);
  assert.equal(noFrom.code, 2);
  assert.match(noFrom.stderr, /--from must be LiteLLM's PostgreSQL database/);
  const unreachable = await run(process.execPath, [join(REPO, 'src/main.ts'), 'import', 'litellm', '--from', 'postgresql://u:secret@127.0.0.1:1/none'], { cwd }).catch((e) => e);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot read LiteLLM's database postgresql:\/\/\*\*\*@127\.0\.0\.1:1\/none/);
  assert.doesNotMatch(unreachable.stderr, /secret/);
  const notLiteLLM = await run(process.execPath, [join(REPO, 'src/main.ts'), 'import', 'litellm', '--from', await freshPostgresUrl()], { cwd, env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${join(cwd, 'x.db')}` } }).catch((e) => e);
  assert.equal(notLiteLLM.code, 1);
  assert.match(notLiteLLM.stderr, /not a LiteLLM proxy database/);
});
