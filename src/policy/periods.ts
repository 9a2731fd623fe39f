// When a budget period ends, as LiteLLM schedules it: daily, weekly and monthly periods end on the
// calendar, at midnight in the configured time zone (`litellm_settings.timezone`, an IANA name, UTC by
// default): `1d` and `24h` at the next midnight, `7d` and `1w` on the next Monday, `30d` and `1mo` on
// the 1st of the next month. Every other duration rolls from the moment it starts (`30s`, `2h`, `14d`).
// Local midnights are found through Intl, so daylight saving time moves them as it moves the clocks.
import { addDuration } from '../admin/durations.ts';

type Calendar = 'day' | 'week' | 'month';
const CALENDAR: Record<string, Calendar> = { '1d': 'day', '24h': 'day', '7d': 'week', '1w': 'week', '30d': 'month', '1mo': 'month' };

const formats = new Map<string, Intl.DateTimeFormat>();
function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(timeZone, f);
  }
  return f;
}

/** Whether the name is a time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  try {
    format(name);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock in `timeZone` at instant `t`, as if it were UTC (so date arithmetic is plain). */
function wall(t: number, timeZone: string): Date {
  const p: Record<string, number> = {};
  for (const part of format(timeZone).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return new Date(Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!));
}

/** The instant when the wall clock in `timeZone` shows `local` (read as UTC fields); the first one after a gap. */
function instantOf(local: Date, timeZone: string): number {
  const guess = local.getTime();
  let t = guess - (wall(guess, timeZone).getTime() - guess);
  // The offset may differ at the instant itself (a change between the guess and it): once more.
  t = guess - (wall(t, timeZone).getTime() - t);
  // A wall time the clocks skip (a gap at midnight): the first instant after it, never one before.
  const shown = wall(t, timeZone).getTime();
  if (shown < guess) t += guess - shown;
  return t;
}

/** The end of the period of `duration` that starts at `start`: its next reset. */
export function nextReset(duration: string, start: Date, timeZone = 'UTC'): Date {
  const kind = CALENDAR[duration];
  if (!kind) return addDuration(start, duration);
  const w = wall(start.getTime(), timeZone);
  const y = w.getUTCFullYear();
  const m = w.getUTCMonth();
  const d = w.getUTCDate();
  let local: Date;
  if (kind === 'day') local = new Date(Date.UTC(y, m, d + 1));
  else if (kind === 'week') {
    const toMonday = (8 - w.getUTCDay()) % 7 || 7; // Sunday is 0: one day; Monday: a whole week
    local = new Date(Date.UTC(y, m, d + toMonday));
  } else local = new Date(Date.UTC(y, m + 1, 1));
  return new Date(instantOf(local, timeZone));
}
