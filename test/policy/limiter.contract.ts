// The cases every Limiter implementation must pass (in memory now; Redis for several instances later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Limiter } from '../../src/policy/limiter.ts';

export function limiterContract(name: string, make: () => Limiter): void {
  const T0 = 1_700_000_040_000; // 40 s into a clock minute

  test(`${name}: a reservation is refused when spend + held + amount would pass the limit`, () => {
    const l = make();
    assert.equal(l.reserve('k', 60, 30, 100), true);
    assert.equal(l.reserve('k', 11, 30, 100), false);
    assert.equal(l.reserve('k', 10, 30, 100), true);
    assert.equal(l.reserved('k'), 70);
    l.release('k', 60);
    assert.equal(l.reserved('k'), 10);
    l.release('k', 10);
    assert.deepEqual(l.held(), { reservations: 0, slots: 0 });
  });

  test(`${name}: keys are independent`, () => {
    const l = make();
    assert.equal(l.reserve('a', 100, 0, 100), true);
    assert.equal(l.reserve('b', 100, 0, 100), true);
    assert.equal(l.acquireSlot('a', 1), true);
    assert.equal(l.acquireSlot('b', 1), true);
    assert.equal(l.acquireSlot('a', 1), false);
  });

  test(`${name}: pending spend grows with records and shrinks as the database takes them`, () => {
    const l = make();
    l.addSpend('k', 500);
    l.addSpend('k', 250);
    assert.equal(l.pending('k'), 750);
    l.spendWritten('k', 500);
    assert.equal(l.pending('k'), 250);
    l.spendWritten('k', 1000);
    assert.equal(l.pending('k'), 0);
    l.addSpend('k', 5);
    l.resetSpend('k');
    assert.equal(l.pending('k'), 0);
  });

  test(`${name}: slots are counted and given back`, () => {
    const l = make();
    assert.equal(l.acquireSlot('k', 2), true);
    assert.equal(l.acquireSlot('k', 2), true);
    assert.equal(l.acquireSlot('k', 2), false);
    assert.equal(l.inFlight('k'), 2);
    l.releaseSlot('k');
    assert.equal(l.acquireSlot('k', 2), true);
    l.releaseSlot('k');
    l.releaseSlot('k');
    assert.equal(l.inFlight('k'), 0);
  });

  test(`${name}: requests per minute: a refused request is not counted, and says when to retry`, () => {
    const l = make();
    for (let i = 0; i < 3; i++) assert.equal(l.hitRequests('k', 3, T0 + i).allowed, true);
    const refused = l.hitRequests('k', 3, T0 + 10);
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000);
    assert.equal(l.requestsAllowed('k', 4, T0 + 11).allowed, true, 'the refused one took no quota');
    // two minutes later the window is empty
    assert.equal(l.hitRequests('k', 3, T0 + 120_000).allowed, true);
  });

  test(`${name}: tokens per minute`, () => {
    const l = make();
    assert.equal(l.checkTokens('k', 100, T0).allowed, true);
    l.addTokens('k', 100, T0);
    const w = l.checkTokens('k', 100, T0 + 1);
    assert.equal(w.allowed, false);
    assert.ok(w.retryAfterMs > 0);
    assert.equal(l.checkTokens('k', 100, T0 + 120_000).allowed, true);
  });

  test(`${name}: tokens per minute: room for what a call needs, and tokens taken back from their own minute`, () => {
    const l = make();
    l.addTokens('k', 60, T0);
    assert.equal(l.checkTokens('k', 100, T0 + 1, 40).allowed, true);
    assert.equal(l.checkTokens('k', 100, T0 + 1, 41).allowed, false);
    // 30 s later the next minute has begun: the 60 are taken back from the minute they were counted in.
    l.removeTokens('k', 60, T0, T0 + 30_000);
    assert.equal(l.checkTokens('k', 100, T0 + 30_000, 100).allowed, true);
    // A minute out of the window is left alone (and never goes below nothing).
    l.addTokens('k', 10, T0 + 30_000);
    l.removeTokens('k', 60, T0 - 120_000, T0 + 30_001);
    l.removeTokens('k', 60, T0 + 30_000, T0 + 30_002);
    assert.equal(l.checkTokens('k', 100, T0 + 30_003, 100).allowed, true);
    l.addTokens('k', 100, T0 + 30_004);
    assert.equal(l.checkTokens('k', 100, T0 + 30_005, 1).allowed, false, 'the 10 went to 0, not to -50');
  });
}
