// Budget alerts: a budget's spend crossing its soft_budget or a threshold of its max_budget (85, 95
// and 100 % unless configured), or a hard budget refusing a call it can no longer pay for. Each fires
// once per budget period (a new period, a new life of the entity or a new limit fires again), from one
// instance: the first to record it in the database sends it. A log line, a metric, the webhooks.
import type { Logger } from 'pino';
import { nanosToUsd } from '../metering/money.ts';
import type { AlertClaimRepo } from '../store/alerts.ts';
import type { AlertEvent, AlertSender, Caller } from '../telemetry/alert-sender.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export type { Caller };

/** Whose budget it is, as the alert names it (LiteLLM's event_group, and the groups it lacks). */
export interface AlertOwner {
  group: 'key' | 'internal_user' | 'team' | 'team_member' | 'organization' | 'customer' | 'tag' | 'proxy';
  tag?: string;
  model?: string;
}

/** A budget as alerts see it (admit.ts's Hold). */
export interface Watched {
  readonly scope: string;
  /** Which life and period of the budget: an alert fires once in each. */
  readonly period: string;
  /** max_budget, nano-dollars; Infinity for a budget with only a soft one. */
  readonly limit: number;
  readonly resetAt: string | null;
  /** How refusals name it: `Team=search ` ('' for the key's own). */
  readonly who: string;
  readonly owner: AlertOwner;
  /** The soft budget, nano-dollars; null: none (or alerts off). */
  readonly soft: number | null;
  spent(): number;
}

/** Remembered crossings (claimed here or by another instance); cleared past this, the database still says. */
const MAX_SEEN = 100_000;

export class BudgetAlerts {
  private readonly thresholds: number[];
  private readonly claims: AlertClaimRepo;
  private readonly sender: AlertSender;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  /** Crossings already claimed or being claimed: most calls after a crossing stop here, in memory. */
  private readonly seen = new Set<string>();

  constructor(opts: { thresholds: number[]; claims: AlertClaimRepo; sender: AlertSender; metrics: Metrics; log: Logger }) {
    this.thresholds = opts.thresholds;
    this.claims = opts.claims;
    this.sender = opts.sender;
    this.metrics = opts.metrics;
    this.log = opts.log;
  }

  /**
   * After a call settled: each budget's spend (the counters', else this instance's view) against its
   * soft budget and thresholds. Returns at once; claims and sends go on in the background.
   */
  settled(holds: Watched[], spends: (number | null)[], watched: Watched[], caller: Caller): void {
    for (let i = 0; i < holds.length; i++) this.check(holds[i]!, spends[i] ?? holds[i]!.spent(), caller);
    for (const w of watched) this.check(w, w.spent(), caller);
  }

  /**
   * A hard budget refused a call: when its spend alone leaves no room for it (not the reservations
   * of calls in flight), the budget is spent as far as callers are concerned, and budget_crossed fires.
   */
  refused(h: Watched, spent: number, needed: number, caller: Caller): void {
    if (this.thresholds.at(-1) === 1 && spent + needed > h.limit) this.cross(h, 'budget_crossed', h.limit, 1, spent, caller);
  }

  private check(h: Watched, spent: number, caller: Caller): void {
    const soft = h.soft;
    if (soft !== null && spent >= soft) this.cross(h, 'soft_budget_crossed', soft, null, spent, caller);
    if (h.limit === Infinity || h.limit <= 0) return;
    for (const t of this.thresholds) {
      const at = Math.ceil(h.limit * t);
      if (spent < at) break;
      this.cross(h, t === 1 ? 'budget_crossed' : 'threshold_crossed', at, t, spent, caller);
    }
  }

  private cross(h: Watched, event: AlertEvent['event'], at: number, threshold: number | null, spent: number, caller: Caller): void {
    const ref = `${h.scope}\n${h.period}\n${event}\n${at}`;
    if (this.seen.has(ref)) return;
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    this.seen.add(ref);
    this.claims.claim({ ref, scope: h.scope, event, thresholdNanos: at, spendNanos: spent }).then(
      (mine) => {
        if (mine) this.fire(h, event, threshold, spent, caller);
      },
      (err) => {
        // Tried again by a later call.
        this.seen.delete(ref);
        this.log.warn({ err }, 'a budget alert could not be recorded; it is tried again with the next call');
      },
    );
  }

  private fire(h: Watched, event: AlertEvent['event'], threshold: number | null, spent: number, caller: Caller): void {
    const max = h.limit === Infinity ? null : nanosToUsd(h.limit);
    const soft = h.soft === null ? null : nanosToUsd(h.soft);
    const name = h.who ? h.who.trimEnd() : `Key=${caller.key_alias ?? `${caller.token?.slice(0, 12)}…`}`;
    const spend = nanosToUsd(spent);
    const what =
      event === 'soft_budget_crossed'
        ? `soft budget of $${soft} crossed ($${spend} spent)`
        : event === 'budget_crossed'
          ? `max budget of $${max} reached ($${spend} spent): calls it cannot pay for are refused`
          : `${Math.round(threshold! * 100)}% of the max budget of $${max} spent ($${spend})`;
    const e: AlertEvent = {
      event,
      event_group: h.owner.group,
      event_message: `Budget alert, ${name}: ${what}`,
      spend,
      max_budget: max,
      soft_budget: soft,
      threshold,
      budget_reset_at: h.resetAt,
      ...caller,
      ...(h.owner.tag === undefined ? {} : { tag: h.owner.tag }),
      ...(h.owner.model === undefined ? {} : { model: h.owner.model }),
      projected_exceeded_date: null,
      projected_spend: null,
    };
    this.metrics.alert(event, h.owner.group);
    this.log.warn({ alert: { event, event_group: e.event_group, spend, max_budget: max, soft_budget: soft, threshold, team_id: caller.team_id, user_id: caller.user_id, key_alias: caller.key_alias } }, e.event_message);
    this.sender.send(e);
  }
}
