// The cases every Counters implementation must pass: in this process, and in Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenSettlement, type AdmitPlan, type BudgetCounter, type Counters, type Settlement } from '../../src/policy/counters.ts';

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

  with_('tokens per minute: admission holds the expected tokens, settlement puts the real count in their place', async (c) => {
    const p = (now: number, held: number) => plan({ now, tokens: [{ scope: 'k', limit: 100, held }] });
    assert.equal((await c.admit(p(T0, 60))).ok, true);
    // 60 held in flight: 41 more do not fit, 40 do.
    const refused = await c.admit(p(T0 + 1, 41));
    assert.equal(!refused.ok && refused.refused, 'tokens');
    assert.ok(!refused.ok && refused.refused === 'tokens' && refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000);
    assert.equal((await c.admit(p(T0 + 2, 40))).ok, true, 'the refused call held nothing');
    // The first used 10, not 60: 50 come back.
    await c.settle(settlement({ now: T0 + 3, tokens: [{ scope: 'k', held: 60, at: T0 }], tokenCount: 10 }));
    assert.equal((await c.admit(p(T0 + 4, 50))).ok, true, '10 + 40 + 50');
    assert.equal((await c.admit(p(T0 + 5, 1))).ok, false);
    // A failed call (no tokens) gives back all it held.
    await c.settle(settlement({ now: T0 + 6, tokens: [{ scope: 'k', held: 50, at: T0 + 4 }], tokenCount: 0 }));
    assert.equal((await c.admit(p(T0 + 7, 50))).ok, true);
    assert.equal((await c.admit(p(T0 + 120_000, 100))).ok, true, 'two minutes later the window is empty');
  });

  with_('tokens per minute: a call expected to use the whole limit fits an empty window only', async (c) => {
    const p = (now: number, held: number) => plan({ now, tokens: [{ scope: 'k', limit: 100, held }] });
    assert.equal((await c.admit(p(T0, 100))).ok, true);
    await c.settle(settlement({ now: T0 + 1, tokens: [{ scope: 'k', held: 100, at: T0 }], tokenCount: 1 }));
    assert.equal((await c.admit(p(T0 + 2, 100))).ok, false, 'one token used: no room for a whole window');
    assert.equal((await c.admit(p(T0 + 2, 99))).ok, true);
  });

  with_('tokens per minute: a call settled in a later minute gives back what it held in its own', async (c) => {
    // Held 20 s before the end of a minute, settled 10 s into the next, where the earlier one still weighs 5/6.
    const p = (now: number, held: number) => plan({ now, tokens: [{ scope: 'k', limit: 90, held }] });
    assert.equal((await c.admit(p(T0, 90))).ok, true);
    await c.settle(settlement({ now: T0 + 30_000, tokens: [{ scope: 'k', held: 90, at: T0 }], tokenCount: 30 }));
    // Now the window holds the 30 just counted and nothing of the 90 the call held: room for 60.
    assert.equal((await c.admit(p(T0 + 30_001, 60))).ok, true);
    assert.equal((await c.admit(p(T0 + 30_002, 1))).ok, false);
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

  with_("routing: the first deployment with room under its rpm and tpm is taken, its request counted and its tokens held; none: when one will be", async (c) => {
    const choices = [{ scope: 'd1', rpm: 1, tpm: null, tokens: 0 }, { scope: 'd2', rpm: null, tpm: 100, tokens: 60 }];
    assert.equal((await c.route(choices, T0)).index, 0);
    const second = await c.route(choices, T0 + 1);
    assert.equal(second.index, 1, "d1's one request is taken");
    const full = await c.route(choices, T0 + 2);
    assert.equal(full.index, -1, 'd2 holds 60 of 100: 60 more do not fit');
    assert.ok(full.retryAfterMs! > 0 && full.retryAfterMs! <= 60_000);
    // The call used 20: d2 has room for 60 again, not for 81.
    await second.via!.settle(tokenSettlement([{ scope: 'd2', held: 60, at: T0 + 1 }], 20, T0 + 3));
    assert.equal((await c.route([{ scope: 'd2', rpm: null, tpm: 100, tokens: 81 }], T0 + 4)).index, -1);
    assert.equal((await c.route(choices, T0 + 5)).index, 1);
    assert.equal((await c.route([{ scope: 'd3', rpm: null, tpm: null, tokens: 0 }, ...choices], T0 + 6)).index, 0);
  });

  with_('a new period starts from its own spend', async (c) => {
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 100, 'p1')], amount: 1 }))).ok, false);
    assert.equal((await c.admit(plan({ budgets: [budget('k', 100, 0, 'p2')], amount: 1 }))).ok, true);
  });
}
