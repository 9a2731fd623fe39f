// Live counters for keys: spend not yet in the database, budget reservations of requests in flight,
// concurrency slots and request/token rate windows, in one process (redis-counters.ts keeps the
// same for several instances).

export interface RateWindow {
  allowed: boolean;
  remaining: number;
  /** When the caller may try again, if refused. */
  retryAfterMs: number;
}

/**
 * The contract every implementation keeps (test/policy/limiter.contract.ts runs the same cases
 * against each). All amounts are integers: nano-dollars, requests, tokens.
 */
export interface Limiter {
  /** Spend recorded but not yet written to the database. */
  pending(key: string): number;
  addSpend(key: string, nanos: number): void;
  spendWritten(key: string, nanos: number): void;
  resetSpend(key: string): void;
  reserved(key: string): number;
  /** Reserves `amount` if spend + reservations + amount stays within `limit`, atomically. */
  reserve(key: string, amount: number, spent: number, limit: number): boolean;
  release(key: string, amount: number): void;
  acquireSlot(key: string, max: number): boolean;
  releaseSlot(key: string): void;
  inFlight(key: string): number;
  hitRequests(key: string, limit: number, now: number): RateWindow;
  requestsAllowed(key: string, limit: number, now: number): RateWindow;
  checkTokens(key: string, limit: number, now: number, need?: number): RateWindow;
  addTokens(key: string, n: number, now: number): void;
  /** Takes back `n` tokens counted at `at` (a reservation), if its minute is still in the window. */
  removeTokens(key: string, n: number, at: number, now: number): void;
  held(): { reservations: number; slots: number };
}

const WINDOW_MS = 60_000;

/** A sliding one-minute window, approximated from the current and previous fixed minutes. */
class Window {
  private start = 0;
  private current = 0;
  private previous = 0;

  private roll(now: number): void {
    const minute = now - (now % WINDOW_MS);
    if (minute === this.start) return;
    this.previous = minute - this.start === WINDOW_MS ? this.current : 0;
    this.current = 0;
    this.start = minute;
  }

  count(now: number): number {
    this.roll(now);
    const weight = 1 - (now - this.start) / WINDOW_MS;
    return this.current + this.previous * weight;
  }

  add(n: number, now: number): void {
    this.roll(now);
    this.current += n;
  }

  /** Takes back `n` counted in the minute of `at`; nothing once that minute has left the window. */
  remove(n: number, at: number, now: number): void {
    this.roll(now);
    const minute = at - (at % WINDOW_MS);
    if (minute === this.start) this.current = Math.max(0, this.current - n);
    else if (minute === this.start - WINDOW_MS) this.previous = Math.max(0, this.previous - n);
  }

  /** `need`: what must fit under the limit (1 for a request). */
  retryAfterMs(limit: number, now: number, need = 1): number {
    // Time until the previous minute's weight has decayed enough, or the next minute begins.
    const used = this.count(now);
    if (this.previous === 0) return this.start + WINDOW_MS - now;
    const excess = used + need - limit;
    return Math.min(this.start + WINDOW_MS - now, Math.ceil((excess / this.previous) * WINDOW_MS));
  }
}

export class MemoryLimiter implements Limiter {
  private readonly pendingSpend = new Map<string, number>();
  private readonly reservations = new Map<string, number>();
  private readonly slots = new Map<string, number>();
  private readonly requests = new Map<string, Window>();
  private readonly tokens = new Map<string, Window>();

  /** Spend recorded but not yet written to the database. */
  pending(key: string): number {
    return this.pendingSpend.get(key) ?? 0;
  }

  addSpend(key: string, nanos: number): void {
    if (nanos) this.pendingSpend.set(key, this.pending(key) + nanos);
  }

  /** The database now holds `nanos` more of this key's spend. */
  spendWritten(key: string, nanos: number): void {
    const left = this.pending(key) - nanos;
    if (left > 0) this.pendingSpend.set(key, left);
    else this.pendingSpend.delete(key);
  }

  /** A new budget period: spend recorded so far belongs to the old one. */
  resetSpend(key: string): void {
    this.pendingSpend.delete(key);
  }

  reserved(key: string): number {
    return this.reservations.get(key) ?? 0;
  }

  /** Reserves `amount` if spend + reservations + amount stays within `limit`; atomic in this process. */
  reserve(key: string, amount: number, spent: number, limit: number): boolean {
    const held = this.reserved(key);
    if (spent + held + amount > limit) return false;
    this.reservations.set(key, held + amount);
    return true;
  }

  release(key: string, amount: number): void {
    const left = this.reserved(key) - amount;
    if (left > 0) this.reservations.set(key, left);
    else this.reservations.delete(key);
  }

  acquireSlot(key: string, max: number): boolean {
    const used = this.slots.get(key) ?? 0;
    if (used >= max) return false;
    this.slots.set(key, used + 1);
    return true;
  }

  releaseSlot(key: string): void {
    const left = (this.slots.get(key) ?? 0) - 1;
    if (left > 0) this.slots.set(key, left);
    else this.slots.delete(key);
  }

  inFlight(key: string): number {
    return this.slots.get(key) ?? 0;
  }

  private window(map: Map<string, Window>, key: string): Window {
    let w = map.get(key);
    if (!w) {
      w = new Window();
      map.set(key, w);
    }
    return w;
  }

  /** Counts one request against a per-minute limit, unless that would exceed it. */
  hitRequests(key: string, limit: number, now: number): RateWindow {
    const w = this.window(this.requests, key);
    const used = w.count(now);
    if (used + 1 > limit) return { allowed: false, remaining: 0, retryAfterMs: w.retryAfterMs(limit, now) };
    w.add(1, now);
    return { allowed: true, remaining: Math.max(0, Math.floor(limit - used - 1)), retryAfterMs: 0 };
  }

  /** Whether one more request fits a per-minute limit, without counting it. */
  requestsAllowed(key: string, limit: number, now: number): RateWindow {
    const w = this.window(this.requests, key);
    const used = w.count(now);
    return used + 1 > limit ? { allowed: false, remaining: 0, retryAfterMs: w.retryAfterMs(limit, now) } : { allowed: true, remaining: Math.floor(limit - used), retryAfterMs: 0 };
  }

  /**
   * Whether the tokens of the last minute leave room under a per-minute token limit for `need` more
   * (a call's expected tokens, at most the limit: one larger than the limit fits an empty window).
   */
  checkTokens(key: string, limit: number, now: number, need = 0): RateWindow {
    const w = this.window(this.tokens, key);
    const used = w.count(now);
    if (used >= limit || used + need > limit) return { allowed: false, remaining: 0, retryAfterMs: w.retryAfterMs(limit, now, Math.max(need, 1)) };
    return { allowed: true, remaining: Math.floor(limit - used), retryAfterMs: 0 };
  }

  addTokens(key: string, n: number, now: number): void {
    if (n > 0) this.window(this.tokens, key).add(n, now);
  }

  removeTokens(key: string, n: number, at: number, now: number): void {
    if (n > 0) this.tokens.get(key)?.remove(n, at, now);
  }

  /** Total reservations and slots held, for tests and metrics (0 when nothing is in flight). */
  held(): { reservations: number; slots: number } {
    let reservations = 0;
    let slots = 0;
    for (const v of this.reservations.values()) reservations += v;
    for (const v of this.slots.values()) slots += v;
    return { reservations, slots };
  }
}
