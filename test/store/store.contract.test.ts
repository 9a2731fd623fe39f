// Every repository operation, run against SQLite and PostgreSQL through the same cases.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordLine } from '../../src/metering/journal.ts';
import type { Db } from '../../src/store/db.ts';
import { UniqueViolation } from '../../src/store/db.ts';
import { KeyRepo, type KeyRecord } from '../../src/store/keys.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { globalSpendNanos, pruneSpendLogs, querySpendLogs } from '../../src/store/spend.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';
import { spendRecord } from '../helpers/records.ts';
import { tempDir } from '../helpers/temp.ts';

function key(token: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    token, key_name: 'sk-...abcd', key_alias: null, models: ['gpt-4'], aliases: {}, metadata: { user: 'u@example.com', n: 1 }, tags: ['a'],
    user_id: 'u1', team_id: null, spend_nanos: 0, max_budget_nanos: 10_000_000_000, soft_budget_nanos: null, budget_duration: null,
    budget_reset_at: null, budget_period_start: null, expires: null, tpm_limit: null, rpm_limit: 5, max_parallel_requests: null,
    model_rpm_limit: { 'gpt-4': 2 }, model_tpm_limit: null, blocked: false, extra: { config: { x: true } }, created_by: 'master_key',
    updated_by: 'master_key', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', ...over,
  };
}

/** Writes records as the ledger does: through a journal segment file. */
async function write(db: Db, records: ReturnType<typeof spendRecord>[]) {
  const file = join(tempDir('seg'), 'spend-0000000000000001.ndjson');
  writeFileSync(file, records.map(recordLine).join(''));
  return db.writeLedgerSegment(file);
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
