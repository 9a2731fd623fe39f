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
