// What is kept for a while only, deleted hourly: spend logs older than
// general_settings.maximum_spend_logs_retention_period (the hourly rollups, for reports, charts and
// totals, are kept), and Responses API answers kept for previous_response_id older than
// general_settings.responses_retention_period.
import type { Logger } from 'pino';
import { addDuration } from '../admin/durations.ts';
import type { Db } from '../store/db.ts';
import type { ResponseStore } from '../store/responses.ts';
import { pruneSpendLogs } from '../store/spend.ts';

export function retentionCutoff(now: Date, period: string): Date {
  return new Date(now.getTime() - (addDuration(now, period).getTime() - now.getTime()));
}

/** Runs `prune(cutoff)` now and every `everyMs`; the returned function stops it. */
function every(what: string, period: string, log: Logger, everyMs: number, prune: (cutoff: string) => Promise<number>): () => void {
  const once = () =>
    prune(retentionCutoff(new Date(), period).toISOString()).then(
      (n) => n > 0 && log.info(`pruned ${n} ${what} older than ${period}`),
      (err) => log.warn({ err }, `pruning ${what} failed`),
    );
  void once();
  const timer = setInterval(once, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

export function schedulePruning(db: Db, period: string, log: Logger, everyMs = 3_600_000): () => void {
  return every('spend logs', period, log, everyMs, (cutoff) => pruneSpendLogs(db, cutoff));
}

export function scheduleResponsePruning(store: ResponseStore, period: string, log: Logger, everyMs = 3_600_000): () => void {
  return every('kept responses', period, log, everyMs, (cutoff) => store.prune(cutoff));
}
