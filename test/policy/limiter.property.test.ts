// Property-based tests (fast-check) of the limiter and the ledger against simple models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryLimiter } from '../../src/policy/limiter.ts';
import { applyLedger } from '../../src/store/ledger.ts';
import { openSqliteConnection as openSqlite } from '../../src/store/sqlite.ts';
import { migrate } from '../../src/store/migrations.ts';
import { spendRecord } from '../helpers/records.ts';

type Op = { kind: 'reserve'; amount: number } | { kind: 'settle'; index: number; actual: number } | { kind: 'slot' } | { kind: 'unslot' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('reserve' as const), amount: fc.integer({ min: 0, max: 500 }) }),
  fc.record({ kind: fc.constant('settle' as const), index: fc.nat(), actual: fc.integer({ min: 0, max: 500 }) }),
  fc.constant({ kind: 'slot' as const }),
  fc.constant({ kind: 'unslot' as const }),
);

test('reservations: spend + held never passes the budget, and settling gives back exactly what was held', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2000 }), fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 5 }), (budget, ops, maxSlots) => {
      const lim = new MemoryLimiter();
      const open: number[] = [];
      let spent = 0;
      let slots = 0;
      for (const o of ops) {
        if (o.kind === 'reserve') {
          const ok = lim.reserve('k', o.amount, spent, budget);
          const expect = spent + open.reduce((a, b) => a + b, 0) + o.amount <= budget;
          assert.equal(ok, expect);
          if (ok) open.push(o.amount);
        } else if (o.kind === 'settle' && open.length > 0) {
          const held = open.splice(o.index % open.length, 1)[0]!;
          lim.release('k', held);
          // The real cost never exceeds what was reserved when max_tokens bounds the answer.
          const actual = Math.min(o.actual, held);
          lim.addSpend('k', actual);
          spent += actual;
        } else if (o.kind === 'slot') {
          assert.equal(lim.acquireSlot('k', maxSlots), slots < maxSlots);
          if (slots < maxSlots) slots++;
        } else if (o.kind === 'unslot' && slots > 0) {
          lim.releaseSlot('k');
          slots--;
        }
        assert.equal(lim.reserved('k'), open.reduce((a, b) => a + b, 0));
        assert.ok(spent + lim.reserved('k') <= budget);
        assert.equal(lim.pending('k'), spent);
        assert.equal(lim.inFlight('k'), slots);
      }
    }),
    { numRuns: 300 },
  );
});

test('the request window never admits more than the limit within a minute', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 300 }), (limit, steps) => {
      const lim = new MemoryLimiter();
      let now = 1_700_000_000_000;
      const admitted: number[] = [];
      for (const dt of steps) {
        now += dt;
        if (lim.hitRequests('k', limit, now).allowed) admitted.push(now);
        // Within any fixed clock minute, no more than the limit.
        const minute = now - (now % 60_000);
        assert.ok(admitted.filter((t) => t >= minute).length <= limit);
      }
    }),
    { numRuns: 300 },
  );
});

test('the ledger counts each request id once, whatever the batches and repeats', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(fc.record({ id: fc.integer({ min: 0, max: 30 }), cost: fc.integer({ min: 0, max: 10_000 }) }), { maxLength: 20 }), { maxLength: 10 }), async (batches) => {
      const db = openSqlite(':memory:');
      await migrate(db);
      await db.run(`INSERT INTO llmproxy_keys (token, key_name, created_at, updated_at) VALUES ('t', 'sk-...', 'x', 'x')`);
      const first = new Map<number, number>();
      for (const batch of batches) {
        // a request id always carries the cost it was first recorded with
        const records = batch.map(({ id, cost }) => {
          if (!first.has(id)) first.set(id, cost);
          return record(`r${id}`, first.get(id)!);
        });
        await applyLedger(db, records);
      }
      const expected = [...first.values()].reduce((a, b) => a + b, 0);
      const spend = Number((await db.get<{ s: number }>('SELECT spend_nanos AS s FROM llmproxy_keys'))!.s);
      const rows = Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM llmproxy_spend_logs'))!.n);
      const rolled = Number((await db.get<{ s: number | null }>('SELECT SUM(cost_nanos) AS s FROM llmproxy_spend_hourly'))!.s ?? 0);
      await db.close();
      assert.equal(rows, first.size);
      assert.equal(spend, expected);
      assert.equal(rolled, expected);
    }),
    { numRuns: 50 },
  );
});

function record(id: string, cost: number) {
  return spendRecord(id, { key_token: 't', cost_nanos: cost, started_at: '2026-01-01T00:00:00.000Z' });
}
