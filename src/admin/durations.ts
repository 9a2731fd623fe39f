// LiteLLM durations: `30s`, `30m`, `1h`, `1d`, `7d`, `2w`, `1mo`. Months are calendar months.

const DURATION = /^(\d+)\s*(s|m|h|d|w|mo)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function isDuration(v: string): boolean {
  return DURATION.test(v);
}

/** The time `duration` after `from`. */
export function addDuration(from: Date, duration: string): Date {
  const m = DURATION.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  const n = Number(m[1]);
  if (m[2] === 'mo') {
    const d = new Date(from);
    d.setUTCMonth(d.getUTCMonth() + n);
    return d;
  }
  return new Date(from.getTime() + n * UNIT_MS[m[2]!]!);
}
