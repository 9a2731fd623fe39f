// Budget periods (`budget_duration`) of keys, users, teams and shared budgets: when a period ends, spend starts again
// from 0 at `budget_reset_at`, never earlier, and the next period ends as policy/periods.ts says. Requests admitted before the reset stay with the old
// period (the ledger counts a record only in the period it started in).
import type { Logger } from 'pino';
import type { RecordCache } from '../auth/key-cache.ts';
import type { Limiter } from './limiter.ts';
import { nextReset } from './periods.ts';
import type { SharedBudgets } from './shared-budgets.ts';
import { resetSharedBudget, scopesOn, type BudgetRepo } from '../store/budgets.ts';
import type { Db, Queryable } from '../store/db.ts';

/** What a reset tells: the scope whose period starts again (this process's live spend, and the other instances). */
type Resets = Pick<Limiter, 'resetSpend'>;

interface Budgeted {
  spend_nanos: number;
  budget_duration: string | null;
  budget_reset_at: string | null;
}

/** One kind of record with budget periods: where its rows are, its cache, and its live counter's scope. */
export interface BudgetPeriods<T extends Budgeted> {
  repo: {
    dueForReset(now: string): Promise<T[]>;
    resetBudget(id: string, expectedResetAt: string, periodStart: string, nextResetAt: string): Promise<boolean>;
    get(id: string): Promise<T | undefined>;
  };
  cache: RecordCache<T>;
  idOf(record: T): string;
  /** The limiter's scope for this record's spend (a key's hash; `team:ID`, ...). */
  scopeOf(id: string): string;
}

/**
 * The period that contains `now`, the first one starting at `start` or a later one: a job that ran
 * late (the gateway was down) skips the periods that have passed, their start as well as their end.
 */
function currentPeriod(duration: string, start: Date, now: Date, timeZone: string): { start: string; end: string } {
  let from = start;
  let next = nextReset(duration, from, timeZone);
  while (next <= now) {
    from = next;
    next = nextReset(duration, next, timeZone);
  }
  return { start: from.toISOString(), end: next.toISOString() };
}

async function resetKind<T extends Budgeted>(kind: BudgetPeriods<T>, limiter: Resets, now: Date, timeZone: string): Promise<number> {
  let n = 0;
  for (const r of await kind.repo.dueForReset(now.toISOString())) {
    if (!r.budget_duration || !r.budget_reset_at) continue;
    const id = kind.idOf(r);
    const period = currentPeriod(r.budget_duration, new Date(r.budget_reset_at), now, timeZone);
    if (await kind.repo.resetBudget(id, r.budget_reset_at, period.start, period.end)) {
      limiter.resetSpend(kind.scopeOf(id));
      const fresh = await kind.repo.get(id);
      if (fresh) kind.cache.set(id, fresh);
      n++;
    }
  }
  return n;
}

/** The resets of one kind of record, as the scheduler runs them. */
export type PeriodReset = (limiter: Resets, now: Date, timeZone: string) => Promise<number>;

export function budgetPeriods<T extends Budgeted>(kind: BudgetPeriods<T>): PeriodReset {
  return (limiter, now, timeZone) => resetKind(kind, limiter, now, timeZone);
}

/** Starts the new period of every record whose period has ended; how many were reset. */
export async function resetDueBudgets(kinds: PeriodReset[], limiter: Resets, timeZone: string, now = new Date()): Promise<number> {
  let n = 0;
  for (const reset of kinds) n += await reset(limiter, now, timeZone);
  return n;
}

export function scheduleBudgetResets(kinds: PeriodReset[], limiter: Resets, timeZone: string, log: Logger, everyMs = 5_000): () => void {
  const timer = setInterval(() => {
    resetDueBudgets(kinds, limiter, timeZone).catch((err) => log.warn({ err }, 'budget reset failed; retrying'));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The periods of shared budgets: when one ends, every organization, customer and member on it starts
 * again from 0 (each has its own spend against the budget's limit), in one transaction with the move
 * to the next period. `forget` drops the rows' cached records, so they are read again with spend 0.
 */
export function sharedBudgetPeriods(opts: {
  db: Pick<Db, 'batch'> & Queryable;
  repo: Pick<BudgetRepo, 'dueForReset' | 'get'>;
  budgets: SharedBudgets;
  forget: (scope: string) => void;
  /** Tells the other instances that the budget changed (its period). */
  announce?: (budgetId: string) => void;
}): PeriodReset {
  return async (limiter, now, timeZone) => {
    let n = 0;
    for (const b of await opts.repo.dueForReset(now.toISOString())) {
      if (!b.budget_duration || !b.budget_reset_at) continue;
      const period = currentPeriod(b.budget_duration, new Date(b.budget_reset_at), now, timeZone);
      const scopes = await scopesOn(opts.db, b.budget_id);
      if (await resetSharedBudget(opts.db, b.budget_id, b.budget_reset_at, period.start, period.end)) {
        for (const scope of scopes) {
          limiter.resetSpend(scope);
          opts.forget(scope);
        }
        opts.budgets.set(b.budget_id, (await opts.repo.get(b.budget_id)) ?? null);
        opts.announce?.(b.budget_id);
        n++;
      }
    }
    return n;
  };
}
