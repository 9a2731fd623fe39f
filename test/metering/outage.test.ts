// While the database cannot be written, records wait in the journal (memory stays flat) and nothing
// is lost; when it comes back they are written once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Journal, readSegment } from '../../src/metering/journal.ts';
import { Ledger } from '../../src/metering/ledger.ts';
import type { Db } from '../../src/store/db.ts';
import { applyLedger } from '../../src/store/ledger.ts';
import { migrate } from '../../src/store/migrations.ts';
import { openSqliteConnection } from '../../src/store/sqlite.ts';
import { spendRecord } from '../helpers/records.ts';
import { tempDir } from '../helpers/temp.ts';

test('a database outage keeps records queued on disk; they are written once when it returns', async () => {
  const conn = openSqliteConnection(':memory:');
  await migrate(conn);
  let down = true;
  let attempts = 0;
  const db = {
    writeLedgerSegment: async (file: string) => {
      attempts++;
      if (down) throw new Error('database unreachable');
      return applyLedger(conn, readSegment(file));
    },
  } as unknown as Db;
  const dir = tempDir('outage');
  const ledger = new Ledger({ db, journal: new Journal(dir), log: pino({ level: 'silent' }), intervalMs: 60_000 });
  for (const id of ['a', 'b', 'c']) ledger.record(spendRecord(id));
  await ledger.flush();
  for (const id of ['d', 'e']) ledger.record(spendRecord(id));
  await ledger.flush();
  assert.ok(attempts >= 2);
  assert.equal(readdirSync(dir).length, 3, 'two closed segments wait, and the open one');
  assert.equal((await conn.get<{ n: number }>('SELECT COUNT(*) AS n FROM llmproxy_spend_logs'))!.n, 0);

  down = false;
  ledger.record(spendRecord('a')); // a retried duplicate must not count twice
  await ledger.flush();
  assert.equal((await conn.get<{ n: number }>('SELECT COUNT(*) AS n FROM llmproxy_spend_logs'))!.n, 5);
  assert.equal((await conn.get<{ s: number }>('SELECT SUM(cost_nanos) AS s FROM llmproxy_spend_hourly'))!.s, 5000);
  assert.equal(readdirSync(dir).length, 1, 'only the open segment is left');
  await ledger.close();
  await conn.close();
});
