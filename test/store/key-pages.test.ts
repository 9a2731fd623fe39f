// The dashboard's key list on 100,000 keys, on SQLite and PostgreSQL: pages by keyset read from the
// (created_at, token) and alias indexes, never a scan of the table, and walk the keys exactly once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey } from '../../src/auth/keys.ts';
import type { Db } from '../../src/store/db.ts';
import { KeyRepo, keyPageSql, type KeyPageQuery } from '../../src/store/keys.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';

const N = 100_000;
const NOW = '2026-11-28T00:00:00.000Z';

// Key i was created i seconds after 2026-01-01; every tenth is blocked; aliases are seed-000001...
const SQLITE_SEED = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
INSERT INTO llmproxy_keys (token, key_name, key_alias, created_at, updated_at, blocked)
SELECT printf('%064x', i), 'sk-...' || printf('%04d', i % 10000), 'seed-' || printf('%06d', i),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), '${NOW}', CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END FROM n`;
const POSTGRES_SEED = `INSERT INTO llmproxy_keys (token, key_name, key_alias, created_at, updated_at, blocked)
SELECT lpad(to_hex(i), 64, '0'), 'sk-...' || lpad((i % 10000)::text, 4, '0'), 'seed-' || lpad(i::text, 6, '0'),
  to_char(timestamp '2026-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '${NOW}', CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END
FROM generate_series(1, ${N}) AS i`;

const stores: [string, () => Promise<Db>][] = [['sqlite', async () => openSqlite(':memory:')]];
// A language collation, as most PostgreSQL servers have: alias prefixes must still match by code point.
if (POSTGRES) stores.push(['postgres', async () => openPostgres(await freshPostgresUrl({ icuLocale: 'en-US' }))]);

for (const [name, open] of stores) {
  describe(`key pages on ${name}, ${N} keys`, () => {
    const ready = (async () => {
      const db = await open();
      await db.migrate();
      await db.run(name === 'sqlite' ? SQLITE_SEED : POSTGRES_SEED);
      if (name === 'postgres') await db.run('ANALYZE llmproxy_keys');
      return db;
    })();
    after(async () => (await ready).close());

    /** The query plan, as one string. */
    async function plan(db: Db, q: Omit<KeyPageQuery, 'dialect'>): Promise<string> {
      const { sql, params } = keyPageSql({ ...q, dialect: db.dialect }, hashKey);
      const rows = await db.all<Record<string, unknown>>(`${name === 'sqlite' ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN'} ${sql}`, params);
      return rows.map((r) => String(r.detail ?? r['QUERY PLAN'])).join('\n');
    }

    test('first and later pages, filtered or not, come from an index', async () => {
      const db = await ready;
      const cursor = { created_at: '2026-01-02T00:00:00.000Z', token: 'f'.repeat(64) };
      for (const q of [
        { limit: 26, now: NOW },
        { limit: 26, now: NOW, after: cursor },
        { limit: 26, now: NOW, status: 'blocked' as const, after: cursor },
        { limit: 26, now: NOW, search: 'seed-0420' },
      ]) {
        const p = await plan(db, q);
        if (name === 'sqlite') {
          assert.match(p, /USING (COVERING )?INDEX/, p);
          assert.doesNotMatch(p, /^SCAN llmproxy_keys$/m, p);
          // A later page seeks to its cursor instead of walking the index from the start.
          if (q.after) assert.match(p, /SEARCH llmproxy_keys USING INDEX llmproxy_keys_created \(\(created_at,token\)<\(\?,\?\)\)/, p);
        } else {
          assert.match(p, /Index Scan|Index Only Scan|Bitmap Index Scan/, p);
          assert.doesNotMatch(p, /Seq Scan/, p);
          if (q.after) assert.match(p, /Index Cond: \(ROW\(created_at, token\) < ROW/, p);
        }
      }
    });

    test('walking the pages visits every key of a filter once, newest first', async () => {
      const db = await ready;
      const repo = new KeyRepo(db);
      const seen = new Set<string>();
      let after: KeyPageQuery['after'];
      let last = '9999';
      for (;;) {
        const page = await repo.page({ limit: 1000, now: NOW, status: 'blocked', after }, hashKey);
        for (const k of page) {
          assert.ok(k.blocked);
          assert.ok(k.created_at < last);
          last = k.created_at;
          seen.add(k.token);
        }
        if (page.length < 1000) break;
        after = { created_at: page.at(-1)!.created_at, token: page.at(-1)!.token };
      }
      assert.equal(seen.size, N / 10);
    });

    test('search by alias prefix, by key name, or by the whole key', async () => {
      const repo = new KeyRepo(await ready);
      assert.deepEqual((await repo.page({ limit: 50, now: NOW, search: 'seed-00042' }, hashKey)).map((k) => k.key_alias).sort(), Array.from({ length: 10 }, (_, i) => `seed-00042${i}`));
      assert.equal((await repo.page({ limit: 50, now: NOW, search: 'sk-...0007' }, hashKey)).length, 10);
      assert.equal((await repo.page({ limit: 50, now: NOW, search: 'sk-not-a-real-key-at-all' }, hashKey)).length, 0);
    });

    test('alias prefixes match by code point, whatever the collation', async () => {
      const db = await ready;
      const aliases = ['prod-a', 'Prod-x', 'PROD', 'product', 'team-x', 'team.y', 'TEAM-y', 'sk-ops', 'émile', 'zoë-1'];
      for (const [i, a] of aliases.entries()) {
        await db.run('INSERT INTO llmproxy_keys (token, key_name, key_alias, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [`alias${i}`.padEnd(64, '0'), 'sk-...zzzz', a, NOW, NOW]);
      }
      const repo = new KeyRepo(db);
      const find = async (s: string) => (await repo.page({ limit: 50, now: NOW, search: s }, hashKey)).map((k) => k.key_alias).sort();
      assert.deepEqual(await find('prod'), ['prod-a', 'product']);
      assert.deepEqual(await find('team-'), ['team-x']);
      assert.deepEqual(await find('sk-o'), ['sk-ops']);
      assert.deepEqual(await find('é'), ['émile']);
      assert.deepEqual(await find('zoë'), ['zoë-1']);
    });
  });
}
