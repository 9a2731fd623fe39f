// Budget periods (`budget_duration`): when a key's period ends, its spend starts again from 0 at
// `budget_reset_at`, never earlier. Requests admitted before the reset stay with the old period (the
// ledger counts a record only in the period it started in).
import type { Logger } from 'pino';
import { addDuration } from '../admin/durations.ts';
import type { KeyCache } from '../auth/key-cache.ts';
import type { KeyRepo } from '../store/keys.ts';
import type { Limiter } from './limiter.ts';

export async function resetDueBudgets(repo: KeyRepo, cache: KeyCache, limiter: Limiter, now = new Date()): Promise<number> {
  let n = 0;
  for (const k of await repo.dueForReset(now.toISOString())) {
    if (!k.budget_duration || !k.budget_reset_at) continue;
    const start = new Date(k.budget_reset_at);
    let next = addDuration(start, k.budget_duration);
    while (next <= now) next = addDuration(next, k.budget_duration);
    if (await repo.resetBudget(k.token, k.budget_reset_at, start.toISOString(), next.toISOString())) {
      limiter.resetSpend(k.token);
      const fresh = await repo.get(k.token);
      if (fresh) cache.set(k.token, fresh);
      n++;
    }
  }
  return n;
}

export function scheduleBudgetResets(repo: KeyRepo, cache: KeyCache, limiter: Limiter, log: Logger, everyMs = 5_000): () => void {
  const timer = setInterval(() => {
    resetDueBudgets(repo, cache, limiter).catch((err) => log.warn({ err }, 'budget reset failed; retrying'));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
