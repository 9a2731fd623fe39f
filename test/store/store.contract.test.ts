// Every repository operation, run against SQLite and PostgreSQL through the same cases.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordLine } from '../../src/metering/journal.ts';
import type { Db } from '../../src/store/db.ts';
import { UniqueViolation } from '../../src/store/db.ts';
import { KeyRepo, type KeyRecord } from '../../src/store/keys.ts';
import { AuditRepo } from '../../src/store/audit.ts';
import { BudgetRepo, resetSharedBudget, scopesOn } from '../../src/store/budgets.ts';
import { CustomerRepo } from '../../src/store/customers.ts';
import { OrgRepo } from '../../src/store/organizations.ts';
import { TeamRepo, type TeamRecord } from '../../src/store/teams.ts';
import { UserRepo, type UserRecord } from '../../src/store/users.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { globalSpendNanos, pruneSpendLogs, querySpendLogs } from '../../src/store/spend.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';
import { spendRecord } from '../helpers/records.ts';
import { tempDir } from '../helpers/temp.ts';

function key(token: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    token, key_name: 'sk-...abcd', key_alias: null, models: ['gpt-4'], aliases: {}, metadata: { user: 'u@example.com', n: 1 }, tags: ['a'],
    user_id: 'u1', team_id: null, organization_id: null, budget_id: null, spend_nanos: 0, max_budget_nanos: 10_000_000_000, soft_budget_nanos: null, budget_duration: null,
    budget_reset_at: null, budget_period_start: null, expires: null, tpm_limit: null, rpm_limit: 5, max_parallel_requests: null,
    model_rpm_limit: { 'gpt-4': 2 }, model_tpm_limit: null, model_max_budget: null, blocked: false, key_type: null, allowed_routes: null, extra: { config: { x: true } }, created_by: 'master_key',
    updated_by: 'master_key', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', ...over,
  };
}

const NOW = '2026-01-01T00:00:00.000Z';

function user(user_id: string, over: Partial<UserRecord> = {}): UserRecord {
  return {
    user_id, user_email: null, user_alias: null, user_role: 'internal_user', models: [], metadata: {}, spend_nanos: 0, max_budget_nanos: null,
    soft_budget_nanos: null, budget_duration: null, budget_reset_at: null, budget_period_start: null, tpm_limit: null, rpm_limit: null,
    max_parallel_requests: null, model_max_budget: null, password_hash: null, extra: {}, created_by: 'x', updated_by: 'x', created_at: NOW,
    updated_at: NOW, ...over,
  };
}

function team(team_id: string, over: Partial<TeamRecord> = {}): TeamRecord {
  return {
    team_id, team_alias: null, organization_id: null, models: [], metadata: {}, spend_nanos: 0, max_budget_nanos: null, soft_budget_nanos: null,
    budget_duration: null, budget_reset_at: null, budget_period_start: null, tpm_limit: null, rpm_limit: null, max_parallel_requests: null,
    model_max_budget: null, blocked: false, extra: {}, created_by: 'x', updated_by: 'x', created_at: NOW, updated_at: NOW, ...over,
  };
}

function segmentOf(records: ReturnType<typeof spendRecord>[]): string {
  const file = join(tempDir('seg'), 'spend-0000000000000001.ndjson');
  writeFileSync(file, records.map(recordLine).join(''));
  return file;
}

/** Writes records as the ledger does: through a journal segment file. */
async function write(db: Db, records: ReturnType<typeof spendRecord>[]) {
  return db.writeLedgerSegment(segmentOf(records));
}

const stores: [string, () => Promise<Db>][] = [['sqlite', async () => openSqlite(':memory:')]];
if (POSTGRES) stores.push(['postgres', async () => openPostgres(await freshPostgresUrl())]);
else test('store suite on PostgreSQL', { skip: 'TEST_POSTGRES_URL is not set (.ci/run sets it)' }, () => {});

for (const [name, open] of stores) {
  describe(`store on ${name}`, () => {
    let db: Db;
    const ready = (async () => {
      db = await open();
      await db.migrate();
      await db.migrate(); // twice: a second instance starting finds nothing to do
    })();
    after(async () => {
      await ready;
      await db.close();
    });

    test('keys: insert, read back every field (JSON, booleans, money), update, regenerate, delete', async () => {
      await ready;
      const repo = new KeyRepo(db);
      await repo.insert(key('t1', { key_alias: 'one', spend_nanos: 9_007_199_254_740 }));
      const k = await repo.get('t1');
      assert.deepEqual(k, key('t1', { key_alias: 'one', spend_nanos: 9_007_199_254_740 }));
      assert.equal((await repo.getByAlias('one'))?.token, 't1');
      const u = await repo.update('t1', { blocked: true, metadata: {}, max_budget_nanos: null });
      assert.equal(u!.blocked, true);
      assert.deepEqual(u!.metadata, {});
      assert.equal(u!.max_budget_nanos, null);
      const r = await repo.update('t1', { token: 't1-new' });
      assert.equal(r!.token, 't1-new');
      assert.equal(await repo.get('t1'), undefined);
      assert.equal(await repo.delete(['t1-new']), 1);
    });

    test('keys: a duplicate token or alias is a UniqueViolation', async () => {
      await ready;
      const repo = new KeyRepo(db);
      await repo.insert(key('dup', { key_alias: 'dup-alias' }));
      await assert.rejects(repo.insert(key('dup')), UniqueViolation);
      await assert.rejects(repo.insert(key('dup2', { key_alias: 'dup-alias' })), UniqueViolation);
    });

    test('keys: list pages and filters', async () => {
      await ready;
      const repo = new KeyRepo(db);
      for (let i = 0; i < 5; i++) await repo.insert(key(`list${i}`, { user_id: 'lister', created_at: `2026-02-0${i + 1}T00:00:00.000Z` }));
      const p1 = await repo.list({ page: 1, size: 2, user_id: 'lister', sort_order: 'desc' });
      assert.equal(p1.total, 5);
      assert.deepEqual(p1.keys.map((k) => k.token), ['list4', 'list3']);
      const p3 = await repo.list({ page: 3, size: 2, user_id: 'lister', sort_order: 'desc' });
      assert.deepEqual(p3.keys.map((k) => k.token), ['list0']);
    });

    test('keys: budget reset is a compare-and-set', async () => {
      await ready;
      const repo = new KeyRepo(db);
      await repo.insert(key('reset', { spend_nanos: 500, budget_duration: '1d', budget_reset_at: '2026-01-02T00:00:00.000Z' }));
      assert.deepEqual((await repo.dueForReset('2026-01-02T00:00:00.000Z')).map((k) => k.token), ['reset']);
      assert.equal(await repo.resetBudget('reset', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'), true);
      assert.equal(await repo.resetBudget('reset', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'), false);
      const k = await repo.get('reset');
      assert.equal(k!.spend_nanos, 0);
      assert.equal(k!.budget_reset_at, '2026-01-03T00:00:00.000Z');
    });

    test('ledger: exactly once across batches, key spend and hourly rollup in step', async () => {
      await ready;
      const repo = new KeyRepo(db);
      await repo.insert(key('t1'));
      const first = await write(db, [spendRecord('a'), spendRecord('b'), spendRecord('a')]);
      assert.equal(first.inserted, 2);
      assert.equal(first.keySpend.get('t1'), 2000);
      assert.equal((await write(db, [spendRecord('a'), spendRecord('c')])).inserted, 1);
      assert.equal((await repo.get('t1'))!.spend_nanos, 3000);
      const hourly = await db.all<{ requests: number; cost_nanos: number }>('SELECT requests, cost_nanos FROM llmproxy_spend_hourly');
      assert.deepEqual(hourly.map((h) => [Number(h.requests), Number(h.cost_nanos)]), [[3, 3000]]);
    });

    test('ledger: a batch of many records, with usage and flags read back alike', async () => {
      await ready;
      const many = Array.from({ length: 250 }, (_, i) =>
        spendRecord(`m${i}`, { key_token: null, stream: i % 2 === 0, ttft_ms: i % 2 ? 12.5 : null, tags: ['x'], usage: { input: 3, cacheRead: 2, cacheWrite: 1, cacheWrite1h: 0, output: 7, reasoning: 4, estimated: i % 3 === 0 } }),
      );
      assert.equal((await write(db, many)).inserted, 250);
      const { rows, total } = await querySpendLogs(db, { request_id: 'm1', page: 1, page_size: 10 });
      assert.equal(total, 1);
      const r = rows[0]!;
      assert.deepEqual([Number(r.input_tokens), Number(r.cache_read_tokens), Number(r.output_tokens), Number(r.reasoning_tokens)], [3, 2, 7, 4]);
      assert.equal(Number(r.stream), 0);
      assert.equal(Number(r.ttft_ms), 12.5);
      assert.deepEqual(JSON.parse(r.tags), ['x']);
    });

    test('users, teams, members, organizations, customers, budgets: insert, read back, update, delete', async () => {
      await ready;
      const users = new UserRepo(db);
      const teams = new TeamRepo(db);
      const orgs = new OrgRepo(db);
      const customers = new CustomerRepo(db);
      const budgets = new BudgetRepo(db);
      const u = user('alice', { user_email: 'Alice@Example.com', models: ['gpt-4'], max_budget_nanos: 5_000_000_000, metadata: { dept: 'r&d' } });
      await users.insert(u);
      assert.deepEqual(await users.get('alice'), u);
      assert.equal((await users.getByEmail('alice@example.COM'))?.user_id, 'alice', 'emails match whatever their case');
      await assert.rejects(users.insert(user('alice2', { user_email: 'ALICE@example.com' })), UniqueViolation);
      assert.equal((await users.update('alice', { user_alias: 'Al' }))!.user_alias, 'Al');
      await users.insert(user('bob'));
      const t = team('eng', { organization_id: 'acme', models: ['gpt-4'], blocked: true });
      await teams.insert(t);
      assert.deepEqual(await teams.get('eng'), t);
      await teams.addMember({ team_id: 'eng', user_id: 'alice', role: 'admin', budget_id: null, spend_nanos: 0, created_at: NOW, updated_at: NOW });
      await teams.addMember({ team_id: 'eng', user_id: 'bob', role: 'user', budget_id: 'b1', spend_nanos: 0, created_at: NOW, updated_at: NOW });
      await assert.rejects(teams.addMember({ team_id: 'eng', user_id: 'bob', role: 'user', budget_id: null, spend_nanos: 0, created_at: NOW, updated_at: NOW }), UniqueViolation);
      assert.deepEqual((await teams.members('eng')).map((m) => [m.user_id, m.role]), [['alice', 'admin'], ['bob', 'user']]);
      assert.deepEqual((await teams.memberships('bob')).map((m) => m.team_id), ['eng']);
      assert.equal((await teams.updateMember('eng', 'bob', { role: 'admin' }))!.role, 'admin');
      assert.deepEqual((await teams.list({ user_id: 'alice', page: 1, page_size: 10, sort_order: 'asc' })).teams.map((x) => x.team_id), ['eng']);
      assert.equal((await teams.list({ organization_id: null, page: 1, page_size: 10, sort_order: 'asc' })).total, 0);
      assert.deepEqual((await users.list({ team: 'eng', page: 1, page_size: 10, sort_by: 'user_id', sort_order: 'asc' })).users.map((x) => x.user_id), ['alice', 'bob']);
      assert.deepEqual((await users.list({ user_ids: ['LIC'], page: 1, page_size: 10, sort_order: 'asc' })).users.map((x) => x.user_id), ['alice'], 'one id: contains, any case');
      assert.equal((await users.list({ user_email: '100%', page: 1, page_size: 10, sort_order: 'asc' })).total, 0, 'LIKE characters are literal');
      const o = { organization_id: 'acme', organization_alias: 'Acme', budget_id: 'b1', models: [], metadata: {}, spend_nanos: 0, extra: {}, created_by: 'x', updated_by: 'x', created_at: NOW, updated_at: NOW };
      await orgs.insert(o);
      await orgs.addMember({ organization_id: 'acme', user_id: 'alice', user_role: 'org_admin', budget_id: null, spend_nanos: 0, created_at: NOW, updated_at: NOW });
      assert.deepEqual((await orgs.list({ memberOf: 'alice' })).map((x) => x.organization_id), ['acme']);
      assert.deepEqual((await orgs.list({ memberOf: 'bob' })), []);
      assert.deepEqual((await teams.teamsOfOrganization('acme')).map((x) => x.team_id), ['eng']);
      await budgets.insert({ budget_id: 'b1', max_budget_nanos: 1_000, soft_budget_nanos: null, max_parallel_requests: 2, tpm_limit: null, rpm_limit: 10, model_max_budget: null, budget_duration: '1d', budget_reset_at: NOW, budget_period_start: null, created_by: 'x', updated_by: 'x', created_at: NOW, updated_at: NOW });
      await customers.insert({ user_id: 'cust 1', alias: 'C', blocked: true, budget_id: 'b1', allowed_model_region: 'eu', default_model: null, metadata: {}, spend_nanos: 0, created_at: NOW, updated_at: NOW });
      assert.deepEqual((await customers.withPolicy()).map((c) => c.user_id), ['cust 1']);
      const links = (await budgets.links(['b1'])).get('b1')!;
      assert.deepEqual(links.map((l) => l.entity_type).sort(), ['end_user', 'organization', 'team_member']);
      assert.equal(await teams.removeMember('eng', 'bob'), true);
      assert.equal(await teams.delete(['eng']), 1);
      assert.deepEqual(await teams.members('eng'), []);
      assert.equal(await orgs.delete(['acme']), 1);
      assert.deepEqual(await orgs.memberships('alice'), []);
    });

    test('shared budgets: a period reset zeroes the spend of every row on it, once (compare-and-set)', async () => {
      await ready;
      const budgets = new BudgetRepo(db);
      const customers = new CustomerRepo(db);
      const due = '2026-02-01T00:00:00.000Z';
      await budgets.insert({ budget_id: 'plan', max_budget_nanos: 1_000, soft_budget_nanos: null, max_parallel_requests: null, tpm_limit: null, rpm_limit: null, model_max_budget: null, budget_duration: '1mo', budget_reset_at: due, budget_period_start: NOW, created_by: 'x', updated_by: 'x', created_at: NOW, updated_at: NOW });
      for (const id of ['on plan 1', 'on plan 2', 'off plan']) {
        await customers.insert({ user_id: id, alias: null, blocked: false, budget_id: id === 'off plan' ? null : 'plan', allowed_model_region: null, default_model: null, metadata: {}, spend_nanos: 700, created_at: NOW, updated_at: NOW });
      }
      assert.ok((await budgets.dueForReset(due)).some((b) => b.budget_id === 'plan'));
      assert.ok(!(await budgets.dueForReset('2026-01-31T23:59:59.999Z')).some((b) => b.budget_id === 'plan'), 'not before');
      assert.deepEqual((await scopesOn(db, 'plan')).sort(), ['customer:on plan 1', 'customer:on plan 2']);
      assert.equal(await resetSharedBudget(db, 'plan', due, due, '2026-03-01T00:00:00.000Z'), true);
      const spend = async () => Promise.all(['on plan 1', 'on plan 2', 'off plan'].map(async (id) => (await customers.get(id))!.spend_nanos));
      assert.deepEqual(await spend(), [0, 0, 700]);
      await db.run("UPDATE llmproxy_customers SET spend_nanos = 5 WHERE user_id = 'on plan 1'");
      assert.equal(await resetSharedBudget(db, 'plan', due, due, '2026-03-01T00:00:00.000Z'), false, 'another instance did it');
      assert.deepEqual(await spend(), [5, 0, 700], 'spend of the new period is kept');
      const b = (await budgets.get('plan'))!;
      assert.deepEqual([b.budget_period_start, b.budget_reset_at], [due, '2026-03-01T00:00:00.000Z']);
    });

    test('ledger: spend of users, teams, organizations, customers and members, and their hourly rollup', async () => {
      await ready;
      const users = new UserRepo(db);
      const teams = new TeamRepo(db);
      const customers = new CustomerRepo(db);
      await users.insert(user('spender'));
      await teams.insert(team('spenders'));
      await teams.addMember({ team_id: 'spenders', user_id: 'spender', role: 'user', budget_id: null, spend_nanos: 0, created_at: NOW, updated_at: NOW });
      const r = (id: string, over: Partial<ReturnType<typeof spendRecord>> = {}) =>
        spendRecord(id, { key_token: null, user_id: 'spender', team_id: 'spenders', organization_id: 'no-such-org', end_user: 'new customer', tags: ['proj'], ...over });
      const first = await write(db, [r('e1'), r('e2', { cost_nanos: 500 }), r('e3', { end_user: null, cost_nanos: 0 })]);
      assert.equal(first.entitySpend.get('user:spender'), 1500);
      assert.equal(first.entitySpend.get('team:spenders'), 1500);
      assert.equal(first.entitySpend.get('member:spenders:spender'), 1500);
      assert.equal(first.entitySpend.get('customer:new customer'), 1500, 'an unknown customer is created with its spend');
      assert.equal(first.entitySpend.has('org:no-such-org'), false, 'no row took it');
      assert.equal(first.entityCost.get('org:no-such-org'), 1500, 'but live counters held it');
      await write(db, [r('e1'), r('e4')]);
      assert.equal((await users.get('spender'))!.spend_nanos, 2500, 'exactly once');
      assert.equal((await teams.member('spenders', 'spender'))!.spend_nanos, 2500);
      assert.equal((await customers.get('new customer'))!.spend_nanos, 2500);
      const rows = await db.all<{ entity_kind: string; entity_id: string; requests: number; cost_nanos: number }>(
        "SELECT entity_kind, entity_id, requests, cost_nanos FROM llmproxy_spend_entity_hourly WHERE entity_id IN ('spender', 'proj', 'new customer') AND entity_kind IN ('user', 'tag', 'customer') ORDER BY entity_kind",
      );
      assert.deepEqual(rows.map((x) => [x.entity_kind, x.entity_id, Number(x.requests), Number(x.cost_nanos)]), [
        ['customer', 'new customer', 3, 2500],
        ['tag', 'proj', 4, 2500],
        ['user', 'spender', 4, 2500],
      ]);
      const noTracking = await db.writeLedgerSegment(segmentOf([r('e5', { end_user: 'untracked' })]), { createCustomers: false });
      assert.equal(noTracking.entitySpend.has('customer:untracked'), false);
      assert.equal(await customers.get('untracked'), undefined, 'not created when customer tracking is off');
      // A refused call (a blocked customer, since deleted) written late does not bring the customer back.
      await write(db, [r('e6', { end_user: 'refused', status: 'error', cost_nanos: 0 })]);
      assert.equal(await customers.get('refused'), undefined, 'a refused call creates no customer');
    });

    test('history (an import\'s spend logs): inserted once and rolled up, added to nobody\'s spend', async () => {
      await ready;
      const keys = new KeyRepo(db);
      await keys.insert(key('hist-key', { spend_nanos: 700 }));
      await new UserRepo(db).insert(user('hist-user', { spend_nanos: 300 }));
      const rec = (id: string) => spendRecord(id, { key_token: 'hist-key', user_id: 'hist-user', end_user: 'hist-customer', cost_nanos: 100, tags: ['hist-tag'], started_at: '2025-08-01T10:20:00.000Z' });
      assert.equal(await db.writeHistory([rec('h1'), rec('h2'), rec('h1')]), 2);
      assert.equal(await db.writeHistory([rec('h2'), rec('h3')]), 1, 'a record already there is skipped');
      assert.equal((await keys.get('hist-key'))!.spend_nanos, 700);
      assert.equal((await new UserRepo(db).get('hist-user'))!.spend_nanos, 300);
      assert.equal(await new CustomerRepo(db).get('hist-customer'), undefined, 'no customer is made from history');
      const hourly = await db.get<{ requests: number; cost_nanos: number }>("SELECT requests, cost_nanos FROM llmproxy_spend_hourly WHERE key_token = 'hist-key' AND hour = '2025-08-01T10:00:00Z'");
      assert.deepEqual([Number(hourly!.requests), Number(hourly!.cost_nanos)], [3, 300]);
      const tag = await db.get<{ cost_nanos: number }>("SELECT cost_nanos FROM llmproxy_spend_entity_hourly WHERE entity_kind = 'tag' AND entity_id = 'hist-tag'");
      assert.equal(Number(tag!.cost_nanos), 300);
    });

    test('audit log: newest first, filtered, paginated', async () => {
      await ready;
      const audit = new AuditRepo(db);
      for (let i = 0; i < 3; i++) {
        await audit.insert({ id: `a${i}`, changed_at: `2026-03-0${i + 1}T00:00:00.000Z`, changed_by: 'master_key', changed_by_role: 'proxy_admin', changed_by_api_key: null, action: i ? 'updated' : 'created', route: '/team/new', table_name: 'LiteLLM_TeamTable', object_id: 't', before_value: i ? { x: i } : null, updated_values: { x: i + 1 } });
      }
      const all = await audit.list({ table_name: 'LiteLLM_TeamTable', page: 1, page_size: 2 });
      assert.equal(all.total, 3);
      assert.deepEqual(all.rows.map((x) => x.id), ['a2', 'a1']);
      assert.deepEqual(all.rows[0]!.before_value, { x: 2 });
      assert.equal((await audit.list({ action: 'created', page: 1, page_size: 10 })).rows[0]!.id, 'a0');
      assert.equal((await audit.list({ start_date: '2026-03-02T00:00:00.000Z', end_date: '2026-03-03T00:00:00.000Z', page: 1, page_size: 10 })).total, 1);
    });

    test('spend logs: filters, either id, date range, pruning; global spend as BigInt', async () => {
      await ready;
      await write(db, [
        spendRecord('p1', { key_token: 'pk', upstream_id: 'chatcmpl-up', started_at: '2025-06-01T00:00:00.000Z', status: 'error', cost_nanos: 0 }),
        spendRecord('p2', { key_token: 'pk', started_at: '2025-07-01T00:00:00.000Z', model: 'gpt-4o', cost_nanos: 2 }),
      ]);
      assert.equal((await querySpendLogs(db, { request_id: 'chatcmpl-up', page: 1, page_size: 10 })).rows[0]!.request_id, 'p1');
      assert.equal((await querySpendLogs(db, { key_token: 'pk', status: 'error', page: 1, page_size: 10 })).total, 1);
      assert.equal((await querySpendLogs(db, { key_token: 'pk', model: 'gpt-4o', page: 1, page_size: 10 })).total, 1);
      assert.equal((await querySpendLogs(db, { key_token: 'pk', start_date: '2025-06-15T00:00:00.000Z', end_date: '2025-07-02T00:00:00.000Z', page: 1, page_size: 10 })).total, 1);
      const before = await globalSpendNanos(db);
      assert.equal(typeof before, 'bigint');
      assert.equal(await pruneSpendLogs(db, '2025-06-15T00:00:00.000Z'), 1);
      assert.equal(await globalSpendNanos(db), before, 'the rollup is kept');
    });
  });
}
