// Which budget alerts have been sent: a row each, the first instance to insert it sends it.
import type { Queryable } from './db.ts';

export interface AlertClaim {
  /** The budget's scope and period, the event and its threshold, in one string. */
  ref: string;
  scope: string;
  event: string;
  thresholdNanos: number;
  spendNanos: number;
}

export class AlertClaimRepo {
  private readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  /** True when this call inserted the row (the alert is this instance's to send), false when it was there. */
  async claim(c: AlertClaim, now = new Date()): Promise<boolean> {
    const r = await this.db.run(
      'INSERT INTO llmproxy_budget_alerts (ref, scope, event, threshold_nanos, spend_nanos, sent_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING',
      [c.ref, c.scope, c.event, c.thresholdNanos, c.spendNanos, now.toISOString()],
    );
    return r.changes === 1;
  }
}
