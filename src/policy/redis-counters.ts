// The counters of several instances, in Redis (one primary): each admission, settlement and stream
// metering step is one Lua script, so one round trip, atomic across every instance.
//
// What an instance holds (reservations, slots) is a field of its own in a hash per scope, and counts
// only while the instance is alive: it renews a lease in a sorted set (`live`) with each call and
// every few seconds, so the holds of an instance that crashed stop counting when its lease ends.
// Each instance also remembers what it holds, and writes that back after Redis failed or was
// restarted. A budget's spend is a counter per period (a new period is a new counter), started
// from the instance's view of the database's spend when it has none; the database stays the record:
// a little after an instance first uses a counter, it reads the spend fresh from the database and
// raises the counter to it if that is more (the seed lacked what other instances had not written).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createClient, type RedisClientType } from 'redis';
import { GatewayError } from '../http/errors.ts';
import type { Cooldowns } from '../router/cooldowns.ts';
import type { DeploymentStats, StatsSnapshot } from '../router/stats.ts';
import type { Admission, AdmitPlan, BudgetCounter, Counters, LocalCounters, RouteChoice, Routed, Settlement, Spends } from './counters.ts';

/** How long an instance's holds outlive its last sign of life. */
const LEASE_MS = 10_000;
const HEARTBEAT_MS = 2_000;
/** An idle hash of holds, and a budget's spend counter, expire after this (the database has the spend). */
const IDLE_MS = 24 * 3600_000;
/**
 * How long a settlement is remembered as counted, so that one sent again (its answer was lost) counts
 * once. One key per call: at 1,000 calls a second, about 300,000 keys (some 30 MB). A settlement owed
 * for longer (Redis unreachable for over 5 minutes, the first try's fate unknown) may count twice:
 * spend then errs high, on the safe side.
 */
const SETTLED_MS = 300_000;
/** A call to Redis that takes longer fails (fail open or closed, as configured). */
const CALL_TIMEOUT_MS = 500;
/** The ledger writes every 250 ms: by then the spend of calls before a counter's seed is recorded. */
const RECONCILE_AFTER_MS = 2_000;
/** Counters remembered as checked; past this, all are forgotten (and checked again on their next use). */
const MAX_RECONCILED = 100_000;

// The sliding minute of a rate window, as the memory limiter counts it: this minute's count plus the
// previous minute's, weighted by how much of it is still inside the last 60 s.
const WINDOW = `
local minute = now - (now % 60000)
local weight = 1 - (now - minute) / 60000
local function window(cur, prev)
  local p = tonumber(redis.call('GET', prev) or '0')
  return tonumber(redis.call('GET', cur) or '0') + p * weight, p
end
-- need: what must fit under the limit (1 for a request)
local function retry(used, prev, limit, need)
  local untilNext = minute + 60000 - now
  if prev == 0 then return untilNext end
  return math.min(untilNext, math.ceil((used + need - limit) / prev * 60000))
end
-- whether a window has room for need more (a call's expected tokens, at most the limit)
local function full(used, limit, need)
  return used >= limit or used + need > limit
end
`;

// The instances alive now (Redis's clock, the same for all), the caller's lease renewed; and the sum
// of a hash of holds over the live instances, the fields of dead ones deleted.
const LIVE = `
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- A lease that was not there (the first call, an instance taken for dead, Redis restarted or flushed):
-- the holds this instance thinks it has may be missing, and its next heartbeat writes them back.
if redis.call('ZADD', KEYS[1], clock + LEASE_MS, me) == 1 then redis.call('SET', KEYS[1] .. ':lost:' .. me, 1, 'PX', 60000) end
local live = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], clock, '+inf')) do live[id] = true end
local function held(key)
  local f = redis.call('HGETALL', key)
  local sum = 0
  for i = 1, #f, 2 do
    if live[f[i]] then sum = sum + tonumber(f[i + 1]) else redis.call('HDEL', key, f[i]) end
  end
  return sum
end
-- A budget's spend this period, started from the caller's seed when there is no counter yet.
local function spent(key, seed)
  local s = redis.call('GET', key)
  if s then return tonumber(s) end
  redis.call('SET', key, seed, 'PX', ${IDLE_MS})
  return tonumber(seed)
end
`;

/**
 * KEYS: live; per token limit its window's current and previous minute; per slot limit its hash; per
 * budget its spend counter and its hash of reservations; per request limit its two minutes.
 * ARGV: me, now, amount, then the counts of each kind, then per token limit its limit and the tokens
 * to hold, per slot limit its maximum, per budget its limit and seed, per request limit its limit.
 * Reply: {0} admitted; {1, i, retryMs} tokens; {2, i} slots; {3, i, spent, reserved, room} budget;
 * {4, i, retryMs} requests.
 */
const ADMIT = `
local me, now, amount = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local nT, nS, nB, nR = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
${LIVE}
${WINDOW}
local k, a = 2, 8
for i = 1, nT do
  local limit, need = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local used, prev = window(KEYS[k], KEYS[k + 1])
  if full(used, limit, need) then return {1, i - 1, retry(used, prev, limit, math.max(need, 1))} end
  k, a = k + 2, a + 2
end
local slots = k
for i = 1, nS do
  if held(KEYS[k]) >= tonumber(ARGV[a]) then return {2, i - 1} end
  k, a = k + 1, a + 1
end
local budgets = k
local refused, rs, rr, room = -1, 0, 0, 0
for i = 1, nB do
  local limit = tonumber(ARGV[a])
  local s = spent(KEYS[k], ARGV[a + 1])
  local r = held(KEYS[k + 1])
  if i == 1 or limit - s - r < room then room = limit - s - r end
  if refused < 0 and s + r + amount > limit then refused, rs, rr = i - 1, s, r end
  k, a = k + 2, a + 2
end
if refused >= 0 then return {3, refused, rs, rr, room} end
local requests = k
for i = 1, nR do
  local limit = tonumber(ARGV[a])
  local used, prev = window(KEYS[k], KEYS[k + 1])
  if used + 1 > limit then return {4, i - 1, retry(used, prev, limit, 1)} end
  k, a = k + 2, a + 1
end
-- Everything has room: take it.
for i = 1, nT do
  local need = ARGV[7 + 2 * i]
  if tonumber(need) > 0 then
    redis.call('INCRBY', KEYS[2 * i], need)
    redis.call('PEXPIRE', KEYS[2 * i], 120000)
  end
end
for i = slots, budgets - 1 do
  redis.call('HINCRBY', KEYS[i], me, 1)
  redis.call('PEXPIRE', KEYS[i], ${IDLE_MS})
end
if amount > 0 then
  for i = budgets, requests - 1, 2 do
    redis.call('HINCRBY', KEYS[i + 1], me, ARGV[3])
    redis.call('PEXPIRE', KEYS[i + 1], ${IDLE_MS})
  end
end
for i = requests, k - 1, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], 120000)
end
return {0}
`;

/** KEYS: live, per budget its spend counter and reservations. ARGV: me, amount, per budget limit and seed. Reply: 1 or 0. */
const EXTEND = `
local me, amount = ARGV[1], tonumber(ARGV[2])
${LIVE}
local a = 3
for k = 2, #KEYS, 2 do
  if spent(KEYS[k], ARGV[a + 1]) + held(KEYS[k + 1]) + amount > tonumber(ARGV[a]) then return 0 end
  a = a + 2
end
for k = 2, #KEYS, 2 do redis.call('HINCRBY', KEYS[k + 1], me, ARGV[2]) end
return 1
`;

/**
 * KEYS: the settlement's own key, per budget its spend counter and reservations, per slot its hash,
 * per token window its minute now and the minute its tokens were held in. ARGV: me, reserved, cost,
 * budgets, slots, tokens, token count, per budget its seed, per token window the tokens it held. The
 * spend and the tokens count once per settlement (its key), so a settlement whose answer was lost can
 * be sent again; the holds are this instance's to write back. Reply: each budget's spend after it
 * (-1: no counter).
 */
const SETTLE = `
local me, reserved, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local nB, nS, nT, n = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local first = redis.call('SET', KEYS[1], 1, 'NX', 'PX', ${SETTLED_MS})
local spends = {}
local k = 2
for i = 1, nB do
  if reserved > 0 and redis.call('HINCRBY', KEYS[k + 1], me, '-' .. ARGV[2]) <= 0 then redis.call('HDEL', KEYS[k + 1], me) end
  if cost > 0 and first then
    if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('INCRBY', KEYS[k], ARGV[3]) else redis.call('SET', KEYS[k], ARGV[7 + i]) end
    redis.call('PEXPIRE', KEYS[k], ${IDLE_MS})
  end
  spends[i] = tonumber(redis.call('GET', KEYS[k]) or -1)
  k = k + 2
end
for i = 1, nS do
  if redis.call('HINCRBY', KEYS[k], me, -1) <= 0 then redis.call('HDEL', KEYS[k], me) end
  k = k + 1
end
if first then
  for i = 1, nT do
    -- What admission held, taken back from its minute (never below 0: Redis may have lost it), and the
    -- real count added to this one.
    local held = tonumber(ARGV[7 + nB + i])
    if held > 0 then
      local v = tonumber(redis.call('GET', KEYS[k + 1]) or '0')
      if v > 0 then redis.call('SET', KEYS[k + 1], math.max(0, v - held), 'KEEPTTL') end
    end
    if tonumber(n) > 0 then
      redis.call('INCRBY', KEYS[k], n)
      redis.call('PEXPIRE', KEYS[k], 120000)
    end
    k = k + 2
  end
end
return spends
`;

/**
 * The first deployment with room under its rpm and tpm: its request counted, its tokens held. KEYS:
 * per choice its request window's two minutes and its token window's two. ARGV: now, then per choice
 * rpm, tpm (-1: none) and the tokens to hold. Reply: {index} or {-1, retryMs}.
 */
const ROUTE = `
local now = tonumber(ARGV[1])
${WINDOW}
local wait = -1
for i = 1, #KEYS / 4 do
  local k, a = (i - 1) * 4 + 1, (i - 1) * 3 + 2
  local rpm, tpm, need = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local after = -1
  if tpm >= 0 then
    local used, prev = window(KEYS[k + 2], KEYS[k + 3])
    if full(used, tpm, need) then after = retry(used, prev, tpm, math.max(need, 1)) end
  end
  if after < 0 and rpm >= 0 then
    local used, prev = window(KEYS[k], KEYS[k + 1])
    if used + 1 > rpm then after = retry(used, prev, rpm, 1) end
  end
  if after < 0 then
    if rpm >= 0 then
      redis.call('INCR', KEYS[k])
      redis.call('PEXPIRE', KEYS[k], 120000)
    end
    if tpm >= 0 and need > 0 then
      redis.call('INCRBY', KEYS[k + 2], need)
      redis.call('PEXPIRE', KEYS[k + 2], 120000)
    end
    return {i - 1}
  end
  if wait < 0 or after < wait then wait = after end
end
return {-1, wait}
`;

/** KEYS: a budget's spend counter. ARGV: spend it is known to be at least. Raised to it if lower; not made. */
const RAISE = `
local s = redis.call('GET', KEYS[1])
if s and tonumber(s) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
return 0
`;

/** Renews the lease and ends those of instances that stopped. KEYS: live. ARGV: me. Reply: 1 when holds may be lost. */
const HEARTBEAT = `
local me = ARGV[1]
${LIVE}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock - 1)
if redis.call('GETDEL', KEYS[1] .. ':lost:' .. me) then return 1 end
return 0
`;

export interface RedisOptions {
  url: string;
  /** Redis unreachable: refuse calls that have limits or budgets (closed), or keep them per instance (open). */
  failure: 'open' | 'closed';
  prefix?: string;
  log: Logger;
  /** How long an instance's holds outlive its last sign of life (tests shorten it). */
  leaseMs?: number;
  heartbeatMs?: number;
  /**
   * The recorded spend of a budget's period, read fresh from the database (plus this instance's not
   * written yet); null: unknown. Without it, counters keep their seeds.
   */
  recordedSpend?: (b: BudgetCounter) => Promise<number | null>;
  /** How long after its first use here a counter is checked against the database: a few ledger flushes. */
  reconcileAfterMs?: number;
}

/** Where a Redis URL points, without its credentials (for logs). */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'an unparsable URL';
  }
}

type Script = { source: string; sha: string | null };

/** Redis away and redis_failure_mode closed: what a call with a limit or a budget gets. */
const unavailable = () =>
  new GatewayError('limits_unavailable', 'Rate limits and budgets cannot be checked: the shared counters (Redis) are unreachable. Try again shortly.', {
    headers: { 'retry-after': '1' },
  });

export class RedisCounters implements Counters {
  readonly id = randomUUID();
  /** Names this instance's settlements (with a sequence): short, as Redis keeps one key per settlement a while. */
  private readonly tag = `${this.id.slice(0, 8)}:`;
  private settled = 0;
  private readonly client: RedisClientType;
  private subscriber: RedisClientType | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private readonly local: LocalCounters;
  private readonly failure: 'open' | 'closed';
  private readonly log: Logger;
  private readonly p: string;
  private readonly scripts: Record<'admit' | 'extend' | 'settle' | 'heartbeat' | 'raise' | 'route', Script>;
  /** What this instance holds in Redis, by hash: its own field's value, to write back after a failure. */
  private readonly mine = new Map<string, number>();
  /** Settlements whose spend and tokens Redis may not have counted (a call failed): sent again, once each. */
  private readonly owed = new Map<string, Settlement>();
  private beat: Promise<void> | null = null;
  /** Hashes whose field may be wrong in Redis (a call failed, or Redis restarted). */
  private readonly dirty = new Set<string>();
  /** Hashes with a call of this instance in flight, and how many. */
  private readonly busy = new Map<string, number>();
  private healthy = false;
  private readonly heartbeatMs: number;
  private readonly recordedSpend: RedisOptions['recordedSpend'] | null;
  private readonly reconcileAfterMs: number;
  /** Spend counters this instance has checked against the database, or will shortly. */
  private readonly reconciled = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: RedisOptions, local: LocalCounters) {
    this.local = local;
    this.failure = opts.failure;
    this.log = opts.log;
    this.p = opts.prefix ?? 'llmproxy:';
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
    const lease = (src: string) => ({ source: src.replaceAll('LEASE_MS', String(opts.leaseMs ?? LEASE_MS)), sha: null });
    this.scripts = { admit: lease(ADMIT), extend: lease(EXTEND), settle: lease(SETTLE), heartbeat: lease(HEARTBEAT), raise: lease(RAISE), route: lease(ROUTE) };
    this.recordedSpend = opts.recordedSpend ?? null;
    this.reconcileAfterMs = opts.reconcileAfterMs ?? RECONCILE_AFTER_MS;
    this.client = createClient({
      url: opts.url,
      // A command while Redis is away fails at once instead of waiting in a queue.
      disableOfflineQueue: true,
      commandOptions: { timeout: CALL_TIMEOUT_MS, rejectInFlight: true },
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000) },
    });
    this.client.on('error', (err: Error) => this.unhealthy(err));
    this.client.on('ready', () => {
      // Whatever Redis lost while away (or on a restart), this instance's holds are written back.
      for (const h of this.mine.keys()) this.dirty.add(h);
      this.reconciled.clear();
      void this.heartbeat();
    });
  }

  /** Connects (the gateway starts even when Redis does not answer: it then runs as its failure mode says). */
  async start(): Promise<void> {
    this.client.connect().catch((err: Error) => this.unhealthy(err));
    // Up to ready (and the first lease taken), for at most 2 s: a first attempt that fails (Redis
    // still starting beside the gateway) is retried within that time by the reconnect strategy.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2_000);
      this.client.once('ready', () =>
        void this.heartbeat().then(() => {
          clearTimeout(t);
          resolve();
        }),
      );
    });
    this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
  }

  get connected(): boolean {
    return this.healthy;
  }

  get failureMode(): 'open' | 'closed' {
    return this.failure;
  }

  private unhealthy(err: Error): void {
    if (this.healthy) {
      this.log.warn(
        `Redis is unreachable (${err.message}): ${this.failure === 'open' ? 'limits and budgets are kept by each instance alone until it is back' : 'calls with limits or budgets are refused until it is back'}`,
      );
    }
    this.healthy = false;
  }

  private async run(name: keyof RedisCounters['scripts'], keys: string[], args: string[]): Promise<unknown> {
    const s = this.scripts[name];
    if (s.sha) {
      try {
        return await this.client.evalSha(s.sha, { keys, arguments: args });
      } catch (err) {
        if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      }
    }
    s.sha = await this.client.scriptLoad(s.source);
    return this.client.evalSha(s.sha, { keys, arguments: args });
  }

  /** One at a time (a write-back must not run twice over the same snapshot): a call meanwhile waits for the one running. */
  private heartbeat(): Promise<void> {
    if (!this.client.isReady) return Promise.resolve();
    this.beat ??= this.beatOnce().finally(() => (this.beat = null));
    return this.beat;
  }

  private async beatOnce(): Promise<void> {
    try {
      if ((await this.run('heartbeat', [`${this.p}live`], [this.id])) === 1) {
        for (const h of this.mine.keys()) this.dirty.add(h);
        // Redis may have lost its counters: those made again from seeds are checked again.
        this.reconciled.clear();
      }
      if (this.dirty.size || this.owed.size) await this.writeBack();
      if (!this.healthy) this.log.info('Redis is reachable again: limits and budgets are shared by every instance');
      this.healthy = true;
    } catch (err) {
      this.unhealthy(err as Error);
    }
  }

  /** Writes this instance's holds and owed spend where a failure may have left them wrong. */
  private async writeBack(): Promise<void> {
    // A hash with a call of this instance in flight waits for the next heartbeat: that call may have
    // changed its field in Redis already, and `mine` learns of it only with the answer.
    const dirty = [...this.dirty].filter((h) => !this.busy.has(h));
    const owed = [...this.owed];
    const m = this.client.multi();
    for (const h of dirty) {
      const v = this.mine.get(h) ?? 0;
      if (v > 0) m.hSet(h, this.id, String(v));
      else m.hDel(h, this.id);
    }
    if (dirty.length) await m.exec();
    for (const h of dirty) this.dirty.delete(h);
    for (const [id, settlement] of owed) {
      // Spend and tokens only (the holds were written back above); counted unless they were already.
      const { keys, args } = this.settleCall(id, { ...settlement, reserved: 0, slots: [] });
      await this.run('settle', keys, args);
      this.owed.delete(id);
    }
  }

  /**
   * Runs a script that changes this instance's fields in `hashes`, marking them busy until `mine` has
   * taken its answer (`then`, in the same turn).
   */
  private async touching<T>(hashes: string[], run: () => Promise<T>, then: (reply: T) => void = () => {}): Promise<T> {
    for (const h of hashes) this.busy.set(h, (this.busy.get(h) ?? 0) + 1);
    try {
      const reply = await run();
      then(reply);
      return reply;
    } finally {
      for (const h of hashes) {
        const n = (this.busy.get(h) ?? 1) - 1;
        if (n > 0) this.busy.set(h, n);
        else this.busy.delete(h);
      }
    }
  }

  private hold(hash: string, by: number): void {
    const v = (this.mine.get(hash) ?? 0) + by;
    if (v > 0) this.mine.set(hash, v);
    else this.mine.delete(hash);
  }

  private spendKey = (b: BudgetCounter) => `${this.p}b:${b.scope}:${b.period}`;
  private resvKey = (scope: string) => `${this.p}r:${scope}`;
  private slotKey = (scope: string) => `${this.p}s:${scope}`;
  private minuteKeys(kind: 'q' | 't', scope: string, now: number): [string, string] {
    const minute = now - (now % 60_000);
    return [`${this.p}${kind}:${scope}:${minute}`, `${this.p}${kind}:${scope}:${minute - 60_000}`];
  }

  /**
   * Leases admitted on this instance's own counters: extended and settled there, their spend owed to
   * Redis, and what they hold counted in `mine` too, so that Redis learns of it with the write-back.
   */
  private readonly fallbackVia: Counters = {
    admit: (plan) => this.local.admit(plan),
    extend: (budgets, amount) => {
      const ok = this.local.extend(budgets, amount);
      if (ok) for (const b of budgets) this.holdLater(this.resvKey(b.scope), amount);
      return ok;
    },
    settle: (s) => this.settleFallback(s),
    route: (choices, now) => this.routeAlone(choices, now),
    close: async () => {},
  };

  /** A hold taken or given back outside Redis, to be written back. */
  private holdLater(hash: string, by: number): void {
    this.hold(hash, by);
    this.dirty.add(hash);
  }

  /** Redis could not answer: this instance's own counters (open), or a refusal (closed). */
  private fallback(plan: AdmitPlan): Admission {
    if (this.failure === 'open') {
      const a = this.local.admit(plan);
      if (!a.ok) return a;
      for (const s of plan.slots) this.holdLater(this.slotKey(s.scope), 1);
      if (plan.amount > 0) for (const b of plan.budgets) this.holdLater(this.resvKey(b.scope), plan.amount);
      return { ok: true, via: this.fallbackVia };
    }
    throw unavailable();
  }

  async admit(plan: AdmitPlan): Promise<Admission> {
    if (!this.healthy || !this.client.isReady) return this.fallback(plan);
    const keys = [`${this.p}live`];
    const args = [this.id, String(plan.now), String(plan.amount), String(plan.tokens.length), String(plan.slots.length), String(plan.budgets.length), String(plan.requests.length)];
    for (const t of plan.tokens) {
      keys.push(...this.minuteKeys('t', t.scope, plan.now));
      args.push(String(t.limit), String(t.held));
    }
    for (const s of plan.slots) {
      keys.push(this.slotKey(s.scope));
      args.push(String(s.max));
    }
    for (const b of plan.budgets) {
      keys.push(this.spendKey(b), this.resvKey(b.scope));
      args.push(String(b.limit), String(b.seed));
      this.reconcileLater(b);
    }
    for (const r of plan.requests) {
      keys.push(...this.minuteKeys('q', r.scope, plan.now));
      args.push(String(r.limit));
    }
    const hashes = [...plan.slots.map((x) => this.slotKey(x.scope)), ...plan.budgets.map((b) => this.resvKey(b.scope))];
    let reply: number[];
    try {
      reply = (await this.touching(
        hashes,
        () => this.run('admit', keys, args),
        (r) => {
          if ((r as number[])[0] !== 0) return;
          for (const s of plan.slots) this.hold(this.slotKey(s.scope), 1);
          if (plan.amount > 0) for (const b of plan.budgets) this.hold(this.resvKey(b.scope), plan.amount);
        },
      )) as number[];
    } catch (err) {
      // It may have run before the answer was lost: what it took is written back from `mine`.
      for (const s of plan.slots) this.dirty.add(this.slotKey(s.scope));
      for (const b of plan.budgets) this.dirty.add(this.resvKey(b.scope));
      this.unhealthy(err as Error);
      return this.fallback(plan);
    }
    switch (reply[0]) {
      case 0:
        return { ok: true, via: this };
      case 1:
        return { ok: false, refused: 'tokens', index: reply[1]!, retryAfterMs: reply[2]! };
      case 2:
        return { ok: false, refused: 'slots', index: reply[1]! };
      case 3:
        return { ok: false, refused: 'budget', index: reply[1]!, spent: reply[2]!, reserved: reply[3]!, room: reply[4]! };
      default:
        return { ok: false, refused: 'requests', index: reply[1]!, retryAfterMs: reply[2]! };
    }
  }

  async extend(budgets: BudgetCounter[], amount: number): Promise<boolean> {
    const keys = [`${this.p}live`];
    const args = [this.id, String(amount)];
    for (const b of budgets) {
      keys.push(this.spendKey(b), this.resvKey(b.scope));
      args.push(String(b.limit), String(b.seed));
    }
    const hashes = budgets.map((b) => this.resvKey(b.scope));
    try {
      const grown = (r: unknown) => {
        if (r === 1) for (const h of hashes) this.hold(h, amount);
      };
      return (await this.touching(hashes, () => this.run('extend', keys, args), grown)) === 1;
    } catch (err) {
      for (const h of hashes) this.dirty.add(h);
      this.unhealthy(err as Error);
      if (this.failure === 'closed') return false; // stopped, as when the budget is spent
      // Open: the stream goes on, and what it now holds reaches Redis with the write-back.
      for (const h of hashes) this.hold(h, amount);
      return true;
    }
  }

  /**
   * The first time this instance uses a spend counter: a little later, the spend the database has
   * for it (fresh) raises the counter if it is higher. A counter is made from the seed of the first
   * instance to use it, which lacks the spend the others had not written yet; a few flushes later the
   * database has it. Never lowered: the counter may hold spend the database has not seen yet.
   */
  private reconcileLater(b: BudgetCounter): void {
    const read = this.recordedSpend;
    const key = this.spendKey(b);
    if (!read || this.reconciled.has(key)) return;
    if (this.reconciled.size >= MAX_RECONCILED) this.reconciled.clear();
    this.reconciled.add(key);
    const t = setTimeout(async () => {
      try {
        const spend = await read(b);
        if (spend !== null && spend > 0 && this.client.isReady) await this.run('raise', [key], [String(spend)]);
      } catch (err) {
        this.reconciled.delete(key); // checked on its next use
        this.log.debug({ err, scope: b.scope }, 'a budget counter could not be checked against the database');
      }
    }, this.reconcileAfterMs);
    t.unref();
  }

  /** The keys and arguments of a settlement's script. */
  private settleCall(id: string, s: Settlement): { keys: string[]; args: string[] } {
    const keys = [`${this.p}done:${id}`];
    const args = [this.id, String(s.reserved), String(s.cost), String(s.budgets.length), String(s.slots.length), String(s.tokens.length), String(s.tokenCount)];
    for (const b of s.budgets) {
      keys.push(this.spendKey(b), this.resvKey(b.scope));
      args.push(String(b.seed));
    }
    for (const scope of s.slots) keys.push(this.slotKey(scope));
    for (const t of s.tokens) {
      keys.push(this.minuteKeys('t', t.scope, s.now)[0], this.minuteKeys('t', t.scope, t.at)[0]);
      args.push(String(t.held));
    }
    return { keys, args };
  }

  async settle(s: Settlement): Promise<Spends> {
    const id = this.settlementId();
    const { keys, args } = this.settleCall(id, s);
    const hashes = [...s.budgets.map((b) => this.resvKey(b.scope)), ...s.slots.map((x) => this.slotKey(x))];
    // Given back here at once; in Redis with the script, or with the write-back if it fails.
    for (const b of s.budgets) if (s.reserved) this.hold(this.resvKey(b.scope), -s.reserved);
    for (const scope of s.slots) this.hold(this.slotKey(scope), -1);
    try {
      const spends = (await this.touching(hashes, () => this.run('settle', keys, args))) as number[];
      return s.budgets.map((_, i) => (typeof spends[i] === 'number' && spends[i] >= 0 ? spends[i] : null));
    } catch (err) {
      for (const h of hashes) this.dirty.add(h);
      if (s.cost || s.tokens.length) this.owed.set(id, s);
      this.unhealthy(err as Error);
      return s.budgets.map(() => null);
    }
  }

  /** Short (one key per settlement lives in Redis for a while): this instance's tag and a sequence. */
  private settlementId(): string {
    return `${this.tag}${(++this.settled).toString(36)}`;
  }

  /**
   * Settles a call that was admitted on this instance's own counters while Redis was away: there,
   * and its spend and tokens in Redis too (now, or with the write-back).
   */
  private settleFallback(s: Settlement): Spends {
    const spends = this.local.settle(s);
    if (s.reserved) for (const b of s.budgets) this.holdLater(this.resvKey(b.scope), -s.reserved);
    for (const scope of s.slots) this.holdLater(this.slotKey(scope), -1);
    // Its tokens were held here only: Redis gets the real count, nothing to give back.
    const tokens = s.tokenCount > 0 ? s.tokens.map((t) => ({ ...t, held: 0 })) : [];
    if (s.cost || tokens.length) this.owed.set(this.settlementId(), { ...s, reserved: 0, slots: [], tokens });
    return spends;
  }

  /**
   * Deployments' rpm and tpm, shared by every instance. Redis away: this instance's windows alone
   * (open), or refused (closed), as for every other limit.
   */
  async route(choices: RouteChoice[], now: number): Promise<Routed> {
    if (!this.healthy || !this.client.isReady) return this.routeAlone(choices, now);
    const keys: string[] = [];
    const args = [String(now)];
    for (const c of choices) {
      keys.push(...this.minuteKeys('q', c.scope, now), ...this.minuteKeys('t', c.scope, now));
      args.push(String(c.rpm ?? -1), String(c.tpm ?? -1), String(c.tokens));
    }
    try {
      const r = (await this.run('route', keys, args)) as number[];
      return r[0] === -1 ? { index: -1, retryAfterMs: r[1]! } : { index: r[0]!, via: this };
    } catch (err) {
      this.unhealthy(err as Error);
      return this.routeAlone(choices, now);
    }
  }

  /** In this instance's windows alone: its tokens held here, settled here and owed to Redis. */
  private routeAlone(choices: RouteChoice[], now: number): Routed {
    if (this.failure === 'closed') throw unavailable();
    const r = this.local.route(choices, now);
    return r.index === -1 ? r : { index: r.index, via: this.fallbackVia };
  }

  /**
   * Cooldowns of deployments, on every instance: one started here is published, one started
   * elsewhere applied here (a subscriber connection of its own; it reconnects by itself).
   */
  shareCooldowns(c: Cooldowns): void {
    const channel = `${this.p}cooldowns`;
    c.share = (id, until) => {
      if (this.client.isReady) this.client.publish(channel, JSON.stringify({ from: this.id, id, until })).catch(() => {});
    };
    const sub = this.client.duplicate();
    this.subscriber = sub;
    sub.on('error', () => {}); // the main client reports Redis being away
    sub
      .connect()
      .then(() =>
        sub.subscribe(channel, (message) => {
          try {
            const m = JSON.parse(message) as { from: string; id: string; until: number };
            if (m.from !== this.id && typeof m.id === 'string' && typeof m.until === 'number') c.rest(m.id, m.until, true);
          } catch {
            // not ours
          }
        }),
      )
      .catch((err: Error) => this.log.debug({ err }, 'cooldowns of other instances will not be heard of until Redis answers'));
  }

  /**
   * The routing strategies' measures, on every instance: each second this instance's go to a key of
   * its own (gone 3 s after its last write) and the other live instances' are read back, two round
   * trips a second whatever the traffic. Redis away: each instance routes by its own.
   */
  shareRouterStats(stats: DeploymentStats): void {
    const key = (instance: string) => `${this.p}router-stats:${instance}`;
    const sync = async () => {
      // (Redis away: each instance by its own measures, not the others' last ones)
      if (!this.client.isReady) return stats.peers([]);
      try {
        await this.client.set(key(this.id), JSON.stringify(stats.snapshot(Date.now())), { PX: 3000 });
        const others = (await this.client.zRange(`${this.p}live`, 0, -1)).filter((i) => i !== this.id);
        const values = others.length > 0 ? await this.client.mGet(others.map(key)) : [];
        const snapshots: StatsSnapshot[] = [];
        for (const v of values) {
          if (typeof v !== 'string') continue;
          try {
            const snap = JSON.parse(v) as unknown;
            if (snap && typeof snap === 'object' && !Array.isArray(snap)) snapshots.push(snap as StatsSnapshot);
          } catch {
            // not a snapshot: left out
          }
        }
        stats.peers(snapshots);
      } catch (err) {
        stats.peers([]);
        this.log.debug({ err }, 'routing measures of other instances not read this time');
      }
    };
    this.statsTimer = setInterval(() => void sync(), 1000);
    this.statsTimer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    try {
      // This instance's holds end now rather than when its lease would.
      if (this.client.isReady) await this.client.zRem(`${this.p}live`, this.id);
      await this.client.close();
      if (this.subscriber?.isOpen) await this.subscriber.close().catch(() => this.subscriber?.destroy());
    } catch {
      this.client.destroy();
    }
  }
}
