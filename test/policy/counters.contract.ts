// The cases every Counters implementation must pass: in this process, and in Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmitPlan, BudgetCounter, Counters, Settlement } from '../../src/policy/counters.ts';

export const T0 = 1_700_000_040_000; // 40 s into a clock minute

export const plan = (p: Partial<AdmitPlan>): AdmitPlan => ({ now: T0, tokens: [], slots: [], budgets: [], amount: 0, requests: [], ...p });
export const budget = (scope: string, limit: number, seed = 0, period = ''): BudgetCounter => ({ scope, limit, seed, period });
export const settlement = (s: Partial<Settlement>): Settlement => ({ now: T0, budgets: [], reserved: 0, cost: 0, slots: [], tokens: [], tokenCount: 0, ...s });

/** `make` gives fresh counters (nothing shared with other cases); `close` ends them. */
export function countersContract(name: string, make: () => Promise<Counters>, opts: { skip?: string | false } = {}): void {
  const skip = opts.skip ?? false;
  const with_ = (title: string, fn: (c: Counters) => Promise<void>) =>
    test(`${name}: ${title}`, { skip }, async () => {
      const c = await make();
      try {
        await fn(c);
      } finally {
        await c.close();
      }
    });

  with_('a reservation is refused when spend + held + amount would pass the limit, saying what is spent, held and left', async (c) => {
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 30)], amount: 60 }))).ok, true);
    const refused = await c.admit(plan({ budgets: [budget('k', 100, 30)], amount: 11 }));
    assert.deepEqual({ ...refused, via: undefined }, { ok: false, refused: 'budget', index: 0, spent: 30, reserved: 60, room: 10, via: undefined });
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 30)], amount: 10 }))).ok, true);
    await c.settle(settlement({ budgets: [budget('k', 100, 30)], reserved: 60 }));
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 30)], amount: 60 }))).ok, true, 'the 60 given back');
  });

  with_('all or nothing: a refusal at any level takes no slot, no request and no reservation anywhere', async (c) => {
    const both = (amount: number) => plan({ slots: [{ scope: 's', max: 1 }], requests: [{ scope: 'q', limit: 1 }], budgets: [budget('a', 100), budget('b', 50)], amount });
    const refused = await c.admit(both(60));
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.refused === 'budget' && refused.index, 1, 'the second budget refuses');
    assert.equal(!refused.ok && refused.refused === 'budget' && refused.room, 50, 'the least room of all');
    // Nothing was taken: the slot, the request and the first budget's 100 are all still there.
    assert.equal((await c.admit(both(50))).ok, true);
    const again = await c.admit(both(1));
    assert.equal(!again.ok && again.refused, 'slots');
  });

  with_('slots are counted and given back', async (c) => {
    const p = plan({ slots: [{ scope: 'k', max: 2 }] });
    assert.equal((await c.admit(p)).ok, true);
    assert.equal((await c.admit(p)).ok, true);
    const refused = await c.admit(p);
    assert.equal(!refused.ok && refused.refused, 'slots');
    await c.settle(settlement({ slots: ['k'] }));
    assert.equal((await c.admit(p)).ok, true);
  });

  with_('requests per minute: a refused request is not counted, and says when to retry', async (c) => {
    for (let i = 0; i < 3; i++) assert.equal((await c.admit(plan({ now: T0 + i, requests: [{ scope: 'k', limit: 3 }] }))).ok, true);
    const refused = await c.admit(plan({ now: T0 + 10, requests: [{ scope: 'k', limit: 3 }] }));
    assert.equal(!refused.ok && refused.refused, 'requests');
    assert.ok(!refused.ok && refused.refused === 'requests' && refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000);
    assert.equal((await c.admit(plan({ now: T0 + 11, requests: [{ scope: 'k', limit: 4 }] }))).ok, true, 'the refused one took no quota');
    assert.equal((await c.admit(plan({ now: T0 + 120_000, requests: [{ scope: 'k', limit: 3 }] }))).ok, true, 'two minutes later the window is empty');
  });

  with_('tokens per minute: settlement counts them, admission checks them', async (c) => {
    const p = (now: number) => plan({ now, tokens: [{ scope: 'k', limit: 100 }] });
    assert.equal((await c.admit(p(T0))).ok, true);
    await c.settle(settlement({ tokens: ['k'], tokenCount: 100 }));
    const refused = await c.admit(p(T0 + 1));
    assert.equal(!refused.ok && refused.refused, 'tokens');
    assert.ok(!refused.ok && refused.refused === 'tokens' && refused.retryAfterMs > 0);
    assert.equal((await c.admit(p(T0 + 120_000))).ok, true);
  });

  with_('a stream grows its reservation against every budget or none', async (c) => {
    const bs = [budget('a', 100), budget('b', 40)];
    assert.equal((await c.admit(plan({ budgets: bs, amount: 20 }))).ok, true);
    assert.equal(await c.extend(bs, 30), false, 'b cannot pay 50');
    assert.equal(await c.extend(bs, 20), true);
    const refused = await c.admit(plan({ budgets: [budget('a', 100)], amount: 61 }));
    assert.equal(!refused.ok && refused.refused === 'budget' && refused.reserved, 40, 'a holds 20 + 20, not the refused 30');
  });

  with_('settled spend counts in the budget, with the caller\'s view of it', async (c) => {
    // The caller's seed is its live view of the spend, which includes what it settled.
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 0)], amount: 50 }))).ok, true);
    await c.settle(settlement({ budgets: [budget('k', 100, 70)], reserved: 50, cost: 70 }));
    const refused = await c.admit(plan({ budgets: [budget('k', 100, 70)], amount: 31 }));
    assert.equal(!refused.ok && refused.refused === 'budget' && refused.spent, 70);
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 70)], amount: 30 }))).ok, true);
  });

  with_('a settlement answers each budget\'s spend after it (what budget alerts are checked against)', async (c) => {
    assert.equal((await c.admit(plan({ budgets: [budget('a', 100, 0), budget('b', 1000, 500)], amount: 10 }))).ok, true);
    assert.deepEqual(await c.settle(settlement({ budgets: [budget('a', 100, 7), budget('b', 1000, 507)], reserved: 10, cost: 7 })), [7, 507]);
    assert.deepEqual(await c.settle(settlement({ budgets: [budget('a', 100, 12), budget('b', 1000, 512)], cost: 5 })), [12, 512]);
  });

  with_("routing: the first deployment with room under its rpm and tpm is taken and counted; none: when one will be", async (c) => {
    const choices = [{ scope: 'd1', rpm: 1, tpm: null }, { scope: 'd2', rpm: null, tpm: 100 }];
    assert.deepEqual(await c.route(choices, T0), { index: 0 });
    assert.deepEqual(await c.route(choices, T0 + 1), { index: 1 }, "d1's one request is taken");
    c.addTokens(['d2'], 100, T0 + 2);
    // (Redis counts tokens after the call, in the background)
    await new Promise((r) => setTimeout(r, 50));
    const full = await c.route(choices, T0 + 3);
    assert.equal(full.index, -1);
    assert.ok(full.retryAfterMs! > 0 && full.retryAfterMs! <= 60_000);
    assert.deepEqual(await c.route([{ scope: 'd3', rpm: null, tpm: null }, ...choices], T0 + 4), { index: 0 });
  });

  with_('a new period starts from its own spend', async (c) => {
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 100, 'p1')], amount: 1 }))).ok, false);
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 0, 'p2')], amount: 1 }))).ok, true);
  });
}
