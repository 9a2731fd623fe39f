// The counters admission and settlement work on: budget reservations, concurrency slots and the
// request and token windows of rate limits. One call admits a request against all of them, one
// settles it, one grows a stream's reservation: in this process (LocalCounters, over the Limiter),
// or in Redis for several instances (redis-counters.ts), where each call is one round trip.
import type { Limiter } from './limiter.ts';

/** A budget a call is held against, as the counters see it. */
export interface BudgetCounter {
  /** The live counter's scope: a key's hash, `team:ID`, `org:ID`, ... */
  scope: string;
  /** The budget's period (its start; '' with none): a new period is a new counter. */
  period: string;
  limit: number;
  /**
   * Spend of the period as this instance knows it (the database's, plus its own not yet written):
   * what a shared counter starts from when it has none (a new period, or Redis lost its data).
   */
  seed: number;
}

/**
 * A token window (a tpm limit) and what a call holds in it since `at`: its expected tokens (prompt
 * and output, at most the limit) from admission until settlement puts the real count in their place.
 */
export interface TokenHold {
  scope: string;
  held: number;
  at: number;
}

export interface AdmitPlan {
  now: number;
  /** Token windows (tpm limits): each must have room for `held` more, which it then holds. */
  tokens: { scope: string; limit: number; held: number }[];
  /** Concurrency slots to take (max_parallel_requests). */
  slots: { scope: string; max: number }[];
  /** Budgets to reserve `amount` against, each of them. */
  budgets: BudgetCounter[];
  amount: number;
  /** Request windows to count one request in (rpm limits). */
  requests: { scope: string; limit: number }[];
}

/** What admission decided: all taken, or nothing taken and what refused. */
export type Admission =
  | { ok: true; via: Counters }
  | { ok: false; refused: 'tokens' | 'requests'; index: number; retryAfterMs: number }
  | { ok: false; refused: 'slots'; index: number }
  /** `room`: the least any of the budgets has left, after spend and reservations. */
  | { ok: false; refused: 'budget'; index: number; spent: number; reserved: number; room: number };

export interface Settlement {
  now: number;
  budgets: BudgetCounter[];
  /** The reservation given back, against each budget. */
  reserved: number;
  /** The call's cost, added to each budget's spend. */
  cost: number;
  slots: string[];
  /** Token windows the call's tokens count in, each giving back what it held. */
  tokens: TokenHold[];
  tokenCount: number;
}

/** A settlement of token windows alone (a deployment's tpm), the call's real count replacing what it held. */
export const tokenSettlement = (tokens: TokenHold[], tokenCount: number, now: number): Settlement => ({
  now,
  budgets: [],
  reserved: 0,
  cost: 0,
  slots: [],
  tokens,
  tokenCount,
});

/**
 * What each budget of a settlement has spent in its period once the call is counted, as the counters
 * know it (with Redis, every instance's), in the settlement's order; null where they cannot say.
 */
export type Spends = (number | null)[];

/**
 * A deployment a call may go to, with its own limits (litellm_params rpm / tpm), and the tokens the
 * call would hold in its tpm window (its expected tokens, at most the tpm).
 */
export interface RouteChoice {
  scope: string;
  rpm: number | null;
  tpm: number | null;
  tokens: number;
}

/**
 * The first choice with room (its request counted, its tokens held by `via`, which settles them), or
 * none and when one will have room.
 */
export type Routed = { index: number; via: Counters; retryAfterMs?: undefined } | { index: -1; retryAfterMs: number };

export interface Counters {
  /** Takes everything in the plan, or nothing. */
  admit(plan: AdmitPlan): Admission | Promise<Admission>;
  /** Reserves `amount` more against every budget, or against none. */
  extend(budgets: BudgetCounter[], amount: number): boolean | Promise<boolean>;
  /** Gives back what admission and extensions took, and counts what the call spent. */
  settle(s: Settlement): Spends | Promise<Spends>;
  /** Takes the first of the choices whose rpm and tpm have room: its request counted, its tokens held. */
  route(choices: RouteChoice[], now: number): Routed | Promise<Routed>;
  close(): Promise<void>;
}

/**
 * The counters of one process, over its Limiter (whose spend is kept by the ledger: a budget's
 * seed is its live spend here, so settlement adds no spend of its own).
 */
export class LocalCounters implements Counters {
  private readonly lim: Limiter;

  constructor(limiter: Limiter) {
    this.lim = limiter;
  }

  admit(p: AdmitPlan): Admission {
    const lim = this.lim;
    // In the order Redis checks them, so both name the same level when several would refuse.
    for (let i = 0; i < p.tokens.length; i++) {
      const t = p.tokens[i]!;
      const w = lim.checkTokens(t.scope, t.limit, p.now, t.held);
      if (!w.allowed) return { ok: false, refused: 'tokens', index: i, retryAfterMs: w.retryAfterMs };
    }
    for (let i = 0; i < p.slots.length; i++) {
      const s = p.slots[i]!;
      if (lim.inFlight(s.scope) >= s.max) return { ok: false, refused: 'slots', index: i };
    }
    const refused = this.reserveAll(p.budgets, p.amount);
    if (refused !== -1) {
      const b = p.budgets[refused]!;
      let room = Infinity;
      for (const x of p.budgets) room = Math.min(room, x.limit - x.seed - lim.reserved(x.scope));
      return { ok: false, refused: 'budget', index: refused, spent: b.seed, reserved: lim.reserved(b.scope), room };
    }
    for (let i = 0; i < p.requests.length; i++) {
      const w = lim.requestsAllowed(p.requests[i]!.scope, p.requests[i]!.limit, p.now);
      if (!w.allowed) {
        for (const b of p.budgets) lim.release(b.scope, p.amount);
        return { ok: false, refused: 'requests', index: i, retryAfterMs: w.retryAfterMs };
      }
    }
    // Everything has room: take it (nothing runs between the checks and this, in one process).
    for (const s of p.slots) lim.acquireSlot(s.scope, s.max);
    for (const r of p.requests) lim.hitRequests(r.scope, r.limit, p.now);
    for (const t of p.tokens) lim.addTokens(t.scope, t.held, p.now);
    return { ok: true, via: this };
  }

  /** Reserves against every budget or none; the index of the first that cannot pay, or -1. */
  private reserveAll(budgets: BudgetCounter[], amount: number): number {
    for (let i = 0; i < budgets.length; i++) {
      const b = budgets[i]!;
      if (!this.lim.reserve(b.scope, amount, b.seed, b.limit)) {
        for (let j = 0; j < i; j++) this.lim.release(budgets[j]!.scope, amount);
        return i;
      }
    }
    return -1;
  }

  extend(budgets: BudgetCounter[], amount: number): boolean {
    return this.reserveAll(budgets, amount) === -1;
  }

  settle(s: Settlement): Spends {
    if (s.reserved) for (const b of s.budgets) this.lim.release(b.scope, s.reserved);
    for (const scope of s.slots) this.lim.releaseSlot(scope);
    for (const t of s.tokens) {
      this.lim.removeTokens(t.scope, t.held, t.at, s.now);
      this.lim.addTokens(t.scope, s.tokenCount, s.now);
    }
    // The seeds are this process's live spend, the call's cost already in it.
    return s.budgets.map((b) => b.seed);
  }

  route(choices: RouteChoice[], now: number): Routed {
    let wait = Infinity;
    for (let i = 0; i < choices.length; i++) {
      const c = choices[i]!;
      const t = c.tpm === null ? null : this.lim.checkTokens(c.scope, c.tpm, now, c.tokens);
      const r = c.rpm === null ? null : this.lim.requestsAllowed(c.scope, c.rpm, now);
      const full = [t, r].find((w) => w && !w.allowed);
      if (full) {
        wait = Math.min(wait, full.retryAfterMs);
        continue;
      }
      if (c.rpm !== null) this.lim.hitRequests(c.scope, c.rpm, now);
      if (c.tpm !== null) this.lim.addTokens(c.scope, c.tokens, now);
      return { index: i, via: this };
    }
    return { index: -1, retryAfterMs: wait };
  }

  async close(): Promise<void> {}
}
