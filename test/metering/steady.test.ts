// Live spend is the database's figure plus what the ledger has not written yet. A batch committed
// between those two reads would count twice or not at all; Ledger.steady keeps batches out of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Journal } from '../../src/metering/journal.ts';
import { Ledger } from '../../src/metering/ledger.ts';
import type { Db } from '../../src/store/db.ts';
import { spendRecord } from '../helpers/records.ts';
import { tempDir } from '../helpers/temp.ts';

/** A ledger over a database of one spend figure whose writes commit, then wait for `finish()` to answer. */
function setup() {
  const state = { dbSpend: 0, pending: 0, writes: 0 };
  let finish = () => {};
  const db = {
    writeLedgerSegment: async () => {
      state.writes++;
      state.dbSpend += state.pending; // committed: visible to readers from here on
      await new Promise<void>((resolve) => (finish = resolve));
      return { spent: state.pending };
    },
  } as unknown as Db;
  const ledger = new Ledger({
    db,
    journal: new Journal(tempDir('steady')),
    log: pino({ level: 'silent' }),
    intervalMs: 60_000,
    onApplied: (batch) => (state.pending -= (batch as unknown as { spent: number }).spent),
  });
  const live = (between: () => Promise<void> = async () => {}) =>
    ledger.steady(async () => {
      const fromDb = await Promise.resolve(state.dbSpend);
      await between();
      return fromDb + state.pending;
    });
  return { state, ledger, live, finish: () => finish() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a read waits for a batch being written, and counts its spend once', async () => {
  const { state, ledger, live, finish } = setup();
  await ledger.record(spendRecord('a'));
  state.pending = 1000;
  const flushed = ledger.flush();
  while (state.writes === 0) await tick();
  const read = live();
  await tick();
  finish();
  assert.equal(await read, 1000);
  await flushed;
  assert.deepEqual([state.dbSpend, state.pending], [1000, 0]);
  await ledger.close();
});

test('reads run together; a batch waits for those in progress, and later reads wait for it', async () => {
  const { state, ledger, live, finish } = setup();
  await ledger.record(spendRecord('a'));
  state.pending = 1000;
  const gates: (() => void)[] = [];
  const hold = () => new Promise<void>((resolve) => gates.push(resolve));
  const first = live(hold);
  const second = live(hold);
  while (gates.length < 2) await tick(); // both are inside their read at once
  const flushed = ledger.flush();
  while (!ledger['writing']) await tick(); // the batch has asked to write
  await tick();
  assert.equal(state.writes, 0, 'the batch waits for the reads in progress');
  let laterDone = false;
  const later = live().then((v) => ((laterDone = true), v));
  await tick();
  for (const go of gates) go();
  assert.deepEqual(await Promise.all([first, second]), [1000, 1000]);
  while (state.writes === 0) await tick();
  assert.equal(laterDone, false, 'a read asked after the batch waits for it, so batches are not starved');
  finish();
  await flushed;
  assert.equal(await later, 1000);
  assert.equal(await live(), 1000);
  await ledger.close();
});
