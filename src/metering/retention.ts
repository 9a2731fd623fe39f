// Spend logs older than general_settings.maximum_spend_logs_retention_period are deleted, hourly;
// the hourly rollups (reports, charts, totals) are kept.
import type { Logger } from 'pino';
import { addDuration } from '../admin/durations.ts';
import type { Db } from '../store/db.ts';
import { pruneSpendLogs } from '../store/spend.ts';

export function retentionCutoff(now: Date, period: string): Date {
  return new Date(now.getTime() - (addDuration(now, period).getTime() - now.getTime()));
}

export function schedulePruning(db: Db, period: string, log: Logger, everyMs = 3_600_000): () => void {
  const prune = () =>
    pruneSpendLogs(db, retentionCutoff(new Date(), period).toISOString()).then(
      (n) => n > 0 && log.info(`pruned ${n} spend logs older than ${period}`),
      (err) => log.warn({ err }, 'pruning spend logs failed'),
    );
  void prune();
  const timer = setInterval(prune, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
