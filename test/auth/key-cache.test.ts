import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyCache } from '../../src/auth/key-cache.ts';
import { hashKey } from '../../src/auth/keys.ts';
import type { KeyRepo } from '../../src/store/keys.ts';
import { authenticate } from '../../src/pipeline/authenticate.ts';
import type { PipelineContext } from '../../src/pipeline/context.ts';

function countingRepo() {
  let reads = 0;
  const repo = { get: async () => (reads++, undefined) } as unknown as KeyRepo;
  return { repo, reads: () => reads };
}

test('an unknown key is remembered: a flood of it costs one database read', async () => {
  const { repo, reads } = countingRepo();
  const cache = new KeyCache(repo);
  const now = Date.now();
  for (let i = 0; i < 1000; i++) assert.equal(await cache.lookup(hashKey('sk-random-guess-1'), now), null);
  assert.equal(reads(), 1);
  await cache.lookup(hashKey('sk-random-guess-1'), now + 60_000);
  assert.equal(reads(), 2, 'and forgotten after a while, so a key created elsewhere is found');
});

test('values that cannot be keys are refused before any lookup', async () => {
  const { repo, reads } = countingRepo();
  const ctx = { keyCache: new KeyCache(repo), isMaster: () => false } as unknown as PipelineContext;
  for (const bad of ['hello', 'sk-x', 'sk-has space inside', 'x'.repeat(300), 'a'.repeat(64)]) {
    await assert.rejects(authenticate(ctx, { authorization: `Bearer ${bad}` }), (e: any) => e.status === 401);
  }
  assert.equal(reads(), 0);
});

test('the cache stays bounded', async () => {
  const { repo } = countingRepo();
  const cache = new KeyCache(repo, { maxEntries: 100 });
  for (let i = 0; i < 1000; i++) await cache.lookup(hashKey(`sk-key-number-${i}`));
  assert.ok((cache as unknown as { entries: Map<string, unknown> }).entries.size <= 100);
});

test('database unreachable: a key not in the cache gets 503; seen keys keep working only when allowed', async () => {
  const key = { token: 'k', blocked: false } as never;
  let down = false;
  const repo = { get: async () => (down ? Promise.reject(new Error('ECONNREFUSED')) : key) } as unknown as KeyRepo;
  for (const serveStale of [false, true]) {
    down = false;
    const cache = new KeyCache(repo, { serveStale, ttlMs: 1000 });
    const t0 = Date.now();
    assert.equal(await cache.lookup('k', t0), key);
    down = true;
    assert.equal(await cache.lookup('k', t0 + 500), key, 'fresh entries need no database');
    await assert.rejects(cache.lookup('other', t0), (e: any) => e.status === 503 && e.type === 'no_db_connection');
    if (serveStale) assert.equal(await cache.lookup('k', t0 + 5000), key);
    else await assert.rejects(cache.lookup('k', t0 + 5000), (e: any) => e.status === 503);
  }
});

/** A repo whose reads wait until released, each resolving with the row given. */
function heldRepo() {
  const waiting: ((row: unknown) => void)[] = [];
  const repo = { get: () => new Promise((resolve) => waiting.push(resolve)) } as unknown as KeyRepo;
  return { repo, waiting };
}

test('concurrent calls with an expired key share one database read', async () => {
  const { repo, waiting } = heldRepo();
  const cache = new KeyCache(repo);
  const row = { token: 't', blocked: false, spend_nanos: 0 };
  const calls = Array.from({ length: 32 }, () => cache.lookup('t'));
  assert.equal(waiting.length, 1);
  waiting[0]!(row);
  for (const key of await Promise.all(calls)) assert.equal(key, row);
});

test('a read that started before an admin change does not overwrite it', async () => {
  const { repo, waiting } = heldRepo();
  const cache = new KeyCache(repo);
  const now = Date.now();
  const before = cache.lookup('t', now);
  const blocked = { token: 't', blocked: true, spend_nanos: 0 };
  cache.set('t', blocked as never, now); // /key/block while the read is in flight
  waiting[0]!({ token: 't', blocked: false, spend_nanos: 0 }); // the row as it was when read
  await before;
  assert.equal(await cache.lookup('t', now), blocked);
  assert.equal(waiting.length, 1, 'no second read');
});

test('a failed read is shared by its waiters and not remembered', async () => {
  let reads = 0;
  const repo = { get: async () => { reads++; throw new Error('down'); } } as unknown as KeyRepo;
  const cache = new KeyCache(repo);
  const results = await Promise.allSettled([cache.lookup('t'), cache.lookup('t')]);
  assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as { status: number }).status === 503));
  assert.equal(reads, 1);
  await assert.rejects(cache.lookup('t'));
  assert.equal(reads, 2, 'the next call reads again');
});
