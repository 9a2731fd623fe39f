// Pieces every entity's "record changes from API fields" shares: a budget period, and the fields this
// gateway does not know (kept as given, as LiteLLM clients send many).
import { nextReset } from '../policy/periods.ts';

/** A new budget period from `now` (budget_duration null: none). */
/** A budget period starting now (its end on the calendar of `timeZone` for daily, weekly and monthly ones). */
export function periodChanges(duration: string | null, now: Date, timeZone: string): { budget_duration: string | null; budget_reset_at: string | null; budget_period_start: string | null } {
  return {
    budget_duration: duration,
    budget_reset_at: duration ? nextReset(duration, now, timeZone).toISOString() : null,
    budget_period_start: duration ? now.toISOString() : null,
  };
}

/** The record's `extra` with the body's unknown fields set; undefined when there are none. */
export function extraChanges(body: Record<string, unknown>, known: ReadonlySet<string>, current: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const extra = { ...(current ?? {}) };
  let changed = false;
  for (const [k, v] of Object.entries(body)) {
    if (!known.has(k) && v !== undefined) {
      extra[k] = v;
      changed = true;
    }
  }
  return changed ? extra : undefined;
}
