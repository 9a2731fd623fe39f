// The counters of one process and of Redis keep one contract; what only Redis does (several instances,
// leases, its failures) is tested here against a real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { LocalCounters } from '../../src/policy/counters.ts';
import { MemoryLimiter } from '../../src/policy/limiter.ts';
import { RedisCounters, type RedisOptions } from '../../src/policy/redis-counters.ts';
import { ownRedis, REDIS, redisSkip } from '../helpers/databases.ts';
import { budget, countersContract, plan, settlement } from './counters.contract.ts';

const log = pino({ level: 'silent' });

countersContract('local counters', async () => new LocalCounters(new MemoryLimiter()));

/** Instances of one gateway on one Redis: the same prefix (a fresh one per test). */
async function instances(n: number, opts: Partial<RedisOptions> = {}, prefix = `t${randomBytes(4).toString('hex')}:`): Promise<RedisCounters[]> {
  const out: RedisCounters[] = [];
  for (let i = 0; i < n; i++) {
    const c = new RedisCounters({ url: REDIS!, failure: 'closed', prefix, log, ...opts }, new LocalCounters(new MemoryLimiter()));
    await c.start();
    out.push(c);
  }
  return out;
}

countersContract('redis counters', async () => (await instances(1))[0]!, { skip: redisSkip });

test('redis: three instances share one budget, one slot limit and one request window', { skip: redisSkip }, async () => {
  const [a, b, c] = (await instances(3)) as [RedisCounters, RedisCounters, RedisCounters];
  try {
    const p = plan({ budgets: [budget('team:x', 100)], amount: 10 });
    // 30 admissions in parallel over three instances against room for 10.
    const all = await Promise.all(Array.from({ length: 30 }, (_, i) => [a, b, c][i % 3]!.admit(p)));
    assert.equal(all.filter((x) => x.ok).length, 10);
    const slots = plan({ slots: [{ scope: 'k', max: 2 }] });
    assert.equal((await a.admit(slots)).ok, true);
    assert.equal((await b.admit(slots)).ok, true);
    assert.equal((await c.admit(slots)).ok, false);
    await a.settle(settlement({ slots: ['k'] }));
    assert.equal((await c.admit(slots)).ok, true, 'the slot A gave back');
    const rpm = plan({ requests: [{ scope: 'k', limit: 5 }] });
    const hits = await Promise.all(Array.from({ length: 15 }, (_, i) => [a, b, c][i % 3]!.admit(rpm)));
    assert.equal(hits.filter((x) => x.ok).length, 5);
  } finally {
    for (const x of [a, b, c]) await x.close();
  }
});

test('redis: the holds of an instance that stopped without settling stop counting when its lease ends', { skip: redisSkip }, async () => {
  const [a, b] = (await instances(2, { leaseMs: 600, heartbeatMs: 100 })) as [RedisCounters, RedisCounters];
  try {
    assert.equal((await a.admit(plan({ budgets: [budget('k', 100)], amount: 100, slots: [{ scope: 's', max: 1 }] }))).ok, true);
    assert.equal((await b.admit(plan({ budgets: [budget('k', 100)], amount: 1 }))).ok, false);
    assert.equal((await b.admit(plan({ slots: [{ scope: 's', max: 1 }] }))).ok, false);
    // A dies: its heartbeat stops (the process is gone), nothing is released.
    (a as unknown as { timer: NodeJS.Timeout }).timer.close();
    await new Promise((r) => setTimeout(r, 900));
    assert.equal((await b.admit(plan({ budgets: [budget('k', 100)], amount: 100 }))).ok, true, "A's reservation has expired");
    assert.equal((await b.admit(plan({ slots: [{ scope: 's', max: 1 }] }))).ok, true, "A's slot too");
  } finally {
    await a.close();
    await b.close();
  }
});

test('redis: unreachable, closed refuses with 503 and open keeps counting in the instance; both recover by themselves', { skip: redisSkip }, async () => {
  let server = await ownRedis();
  const port = server.port;
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const [closed] = await instances(1, { url: server.url, failure: 'closed', heartbeatMs: 100 }, prefix);
  const [open] = await instances(1, { url: server.url, failure: 'open', heartbeatMs: 100 }, prefix);
  try {
    const p = plan({ budgets: [budget('k', 100)], amount: 60 });
    assert.equal((await closed!.admit(p)).ok, true, 'while Redis is up');
    assert.equal((await open!.admit(p)).ok, false, 'both instances hold the one budget');
    await server.stop();
    await assert.rejects(async () => closed!.admit(plan({ budgets: [budget('j', 100)], amount: 10 })), (e: any) => e.status === 503 && e.type === 'service_unavailable' && e.headers['retry-after'] === '1');
    const first = await open!.admit(plan({ budgets: [budget('j', 100)], amount: 60 }));
    assert.equal(first.ok, true, 'open: admitted');
    assert.ok(first.ok && first.via !== open, 'and held by the instance itself');
    assert.equal((await open!.admit(plan({ budgets: [budget('j', 100)], amount: 60 }))).ok, false, 'and still held to the budget there');
    assert.equal(closed!.connected, false);
    // Redis comes back (empty): both reconnect, and the closed one writes back the 60 it holds.
    server = await ownRedis(port);
    for (let i = 0; i < 100 && !(closed!.connected && open!.connected); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(closed!.connected && open!.connected, 'both back on Redis');
    await new Promise((r) => setTimeout(r, 250));
    const after = await open!.admit(plan({ budgets: [budget('k', 100)], amount: 41 }));
    assert.equal(after.ok, false, "the closed instance's 60 is held in Redis again");
    assert.equal((await open!.admit(plan({ budgets: [budget('k', 100)], amount: 40 }))).ok, true);
  } finally {
    await closed!.close();
    await open!.close();
    await server.stop();
  }
});

test('redis: what an instance holds is written back after Redis lost it (a restart, a flush)', { skip: redisSkip }, async () => {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const [a, b] = (await instances(2, { heartbeatMs: 100 }, prefix)) as [RedisCounters, RedisCounters];
  try {
    assert.equal((await a.admit(plan({ budgets: [budget('k', 100)], amount: 70 }))).ok, true);
    // Redis loses this gateway's keys (as a restart without persistence would).
    const { createClient } = await import('redis');
    const r = createClient({ url: REDIS! });
    await r.connect();
    for (const k of await r.keys(`${prefix}*`)) await r.del(k);
    await r.close();
    // A notices no error here (the connection stayed up): the loss shows as missing keys. Its next
    // heartbeat finds its lease gone and writes its holds back.
    await new Promise((res) => setTimeout(res, 400));
    assert.equal((await b.admit(plan({ budgets: [budget('k', 100)], amount: 31 }))).ok, false, "A's 70 is held again");
    assert.equal((await b.admit(plan({ budgets: [budget('k', 100)], amount: 30 }))).ok, true);
  } finally {
    await a.close();
    await b.close();
  }
});

test('redis: a stall longer than a call\'s timeout: a settlement whose answer was lost counts once, and spend settled on the fallback reaches Redis', { skip: redisSkip }, async () => {
  const server = await ownRedis(undefined, ['--enable-debug-command', 'yes']);
  const { createClient } = await import('redis');
  const admin = createClient({ url: server.url });
  await admin.connect();
  const prefix = 'stall:';
  const [a] = (await instances(1, { url: server.url, failure: 'open', heartbeatMs: 100 }, prefix)) as [RedisCounters];
  const counter = async () => Number(await admin.get(`${prefix}b:k:`));
  // Redis stops answering for 800 ms (longer than the 500 ms a call may take), then goes on.
  const stall = () => void admin.sendCommand(['DEBUG', 'SLEEP', '0.8']).catch(() => {});
  const recovered = async () => {
    for (let i = 0; i < 100 && !a.connected; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 400)); // a heartbeat's write-back
  };
  try {
    assert.equal((await a.admit(plan({ budgets: [budget('k', 10_000, 100)], amount: 10 }))).ok, true);
    assert.equal(await counter(), 100);
    stall();
    await new Promise((r) => setTimeout(r, 20));
    // The settlement is sent, times out, and runs when Redis wakes: its spend must not count twice.
    await a.settle(settlement({ budgets: [budget('k', 10_000, 1100)], reserved: 10, cost: 1000 }));
    await recovered();
    assert.equal(await counter(), 1100, 'counted once');

    stall();
    await new Promise((r) => setTimeout(r, 20));
    const fallback = await a.admit(plan({ budgets: [budget('k', 10_000, 1100)], amount: 10 }));
    assert.ok(fallback.ok, 'open: admitted by the instance alone');
    const slot = await a.admit(plan({ slots: [{ scope: 's', max: 1 }] }));
    assert.ok(slot.ok && slot.via !== a, 'a slot taken alone too');
    await recovered();
    assert.equal(await admin.hGet(`${prefix}r:k`, a.id), '10', 'what the instance took alone is held in Redis once it is back');
    assert.equal(await admin.hGet(`${prefix}s:s`, a.id), '1');
    await slot.via.settle(settlement({ slots: ['s'] }));
    await fallback.via.settle(settlement({ budgets: [budget('k', 10_000, 1900)], reserved: 10, cost: 800 }));
    await recovered();
    assert.equal(await counter(), 1900, 'the fallback\'s spend reached the shared counter');
    assert.equal(await admin.hGet(`${prefix}r:k`, a.id), null, 'and nothing is left held');
    assert.equal(await admin.hGet(`${prefix}s:s`, a.id), null);
  } finally {
    await a.close();
    await admin.close();
    await server.stop();
  }
});

test("redis: a counter is raised to the database's spend a little after its first use here, never lowered", { skip: redisSkip }, async () => {
  const recorded = new Map<string, number | null>([['low', 30], ['high', 50]]);
  const reads: string[] = [];
  const [a] = (await instances(1, {
    reconcileAfterMs: 100,
    recordedSpend: async (b) => {
      reads.push(b.scope);
      return recorded.get(b.scope) ?? null;
    },
  })) as [RedisCounters];
  try {
    // Seeded at 40: the database says 50 for `high` (others' spend the seed lacked), 30 for `low`.
    for (const scope of ['low', 'high']) {
      const first = await a.admit(plan({ budgets: [budget(scope, 100, 40)], amount: 10 }));
      assert.equal(first.ok, true);
      await a.settle(settlement({ budgets: [budget(scope, 100, 40)], reserved: 10 }));
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(reads.sort(), ['high', 'low'], 'each counter read once');
    const room = async (scope: string) => {
      const r = await a.admit(plan({ budgets: [budget(scope, 100)], amount: 1000 }));
      return r.ok ? null : r.refused === 'budget' ? r.spent : null;
    };
    assert.equal(await room('high'), 50, 'raised to what the database has');
    assert.equal(await room('low'), 40, 'never lowered: the counter may hold spend the database has not yet');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(reads.length, 2, 'not read again while Redis keeps it');
  } finally {
    await a.close();
  }
});
