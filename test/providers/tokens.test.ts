// The token source every token credential goes through: one fetch however many calls wait, a margin
// before expiry, a refresh in the background before the token expires, and a failed refresh that
// leaves the old token in use and tries again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenSource } from '../../src/providers/tokens.ts';

test('concurrent calls share one fetch; a token near its expiry is not current, though still the latest', async () => {
  let now = 1_000_000;
  let fetches = 0;
  const src = new TokenSource('test', async () => {
    fetches++;
    await new Promise((r) => setTimeout(r, 10));
    return { token: `t${fetches}`, expiresAt: now + 60_000 };
  }, () => now);
  assert.equal(src.current(), null);
  const got = await Promise.all([src.ready(), src.ready(), src.ready()]);
  assert.deepEqual(got, ['t1', 't1', 't1']);
  assert.equal(fetches, 1);
  assert.equal(src.current(), 't1');
  now += 45_000; // 15 s left: under the 30 s margin
  assert.equal(src.current(), null);
  assert.equal(src.latest(), 't1');
  assert.equal(await src.ready(), 't2');
  now += 61_000;
  assert.equal(src.latest(), null, 'an expired token is never sent');
});

test('refreshed in the background before expiry; a failed refresh keeps the old token and tries again', async () => {
  let fetches = 0;
  let fail = false;
  // Tokens that expire 5 min and 2 s from now: the refresh is due in about 2 s.
  const src = new TokenSource('test', async () => {
    fetches++;
    if (fail) throw new Error('token endpoint down');
    return { token: `t${fetches}`, expiresAt: Date.now() + 5 * 60_000 + 1_500 };
  });
  assert.equal(await src.ready(), 't1');
  fail = true;
  await new Promise((r) => setTimeout(r, 1_700));
  assert.equal(fetches, 2, 'the refresh ran before expiry, with no call waiting for it');
  assert.equal(src.current(), 't1', 'the old token still serves');
  assert.equal(src.lastError, 'token endpoint down');
  // A call still gets the old token at once: the failure waits for the next retry, not for a caller.
  assert.equal(await src.ready(), 't1');
});

test('a token endpoint that never answers fails the wait after the timeout, and the next call tries again', async () => {
  let calls = 0;
  const src = new TokenSource<string>('test', () => (++calls === 1 ? new Promise(() => undefined) : Promise.resolve({ token: 'ok', expiresAt: Date.now() + 3_600_000 })), Date.now, 50);
  await assert.rejects(src.ready(), /did not answer in 0.05 s/);
  assert.equal(await src.ready(), 'ok');
});
