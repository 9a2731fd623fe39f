// Formatting and small helpers shared by the pages. No DOM, no state.

const nf = new Intl.NumberFormat();
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** "$5.00", "$1,234.57", "$0.0012", "$0.000035" (up to 6 significant digits for small values). */
export function money(v, sig = 6) {
  if (v == null || Number.isNaN(+v)) return '—';
  const n = +v;
  if (n === 0) return '$0.00';
  const a = Math.abs(n);
  const s = n < 0 ? '-' : '';
  if (a >= 1) return s + '$' + a.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  if (a >= 0.01) return s + '$' + a.toFixed(2 + (a < 0.1 ? 2 : 1)).replace(/(\.\d\d)0+$/, '$1');
  // small: up to 6 significant digits, trailing zeros trimmed
  let t = a.toPrecision(sig);
  if (t.includes('e')) t = a.toFixed(12);
  t = t.replace(/0+$/, '').replace(/\.$/, '');
  return s + '$' + t;
}

/** Price per million tokens: "$2.50", "$0.075". */
export function price(v) {
  if (v == null) return '—';
  return '$' + (+v).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}

/** 1234567 -> "1,234,567" */
export const num = (v) => (v == null ? '—' : nf.format(v));
/** 1234567 -> "1.2M" */
export const short = (v) => (v == null ? '—' : compact.format(v));

export function plural(n, one, many = one + 's') {
  return `${num(n)} ${n === 1 ? one : many}`;
}

export function ms(v) {
  if (v == null) return '—';
  if (v < 1000) return Math.round(v) + ' ms';
  return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dtfSec = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const df = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const shortSec = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit' });

export const dateTime = (iso) => (iso ? dtf.format(new Date(iso)) : '—');
export const dateTimeSec = (iso) => (iso ? dtfSec.format(new Date(iso)) : '—');
/** "Nov 28, 3:48:53 PM" for this year, with the year otherwise. */
export function stamp(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.getFullYear() === new Date().getFullYear() ? shortSec.format(d) : dtfSec.format(d);
}
const dayMonth = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
/** "Nov 26" within this year, "Nov 26, 2025" otherwise. */
export function shortDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.getFullYear() === new Date().getFullYear() ? dayMonth.format(d) : df.format(d);
}
export const date = (iso) => (iso ? df.format(new Date(iso)) : '—');

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
/** "in 3 days", "2 hours ago" */
export function relative(iso) {
  if (!iso) return '';
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  const a = Math.abs(diff);
  const [v, unit] =
    a < 60 ? [diff, 'second'] : a < 3600 ? [diff / 60, 'minute'] : a < 86400 ? [diff / 3600, 'hour'] : a < 86400 * 45 ? [diff / 86400, 'day'] : a < 86400 * 365 ? [diff / (86400 * 30), 'month'] : [diff / (86400 * 365), 'year'];
  return rtf.format(Math.round(v), unit);
}

/** UTC calendar date "YYYY-MM-DD" for a Date. */
export const ymd = (d) => d.toISOString().slice(0, 10);
/** The UTC date after a YYYY-MM-DD date. */
export function nextDay(day) {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
}

/** UTC date `days` days before today. */
export function daysAgo(days) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - days);
  return ymd(d);
}

export const isExpired = (k) => !!k.expires && new Date(k.expires).getTime() <= Date.now();
export function keyStatus(k) {
  if (k.blocked) return 'Blocked';
  if (isExpired(k)) return 'Expired';
  return 'Active';
}
export const keyLabel = (k) => k.key_alias || k.key_name;

export const cx = (...c) => c.filter(Boolean).join(' ');

/** Parse "#/logs?key=abc" into { path: 'logs', params: URLSearchParams }. */
export function parseHash(hash) {
  const h = (hash || '').replace(/^#\/?/, '');
  const [path, q] = h.split('?');
  return { path: path || 'keys', params: new URLSearchParams(q || '') };
}

let idn = 0;
export const uid = (p = 'id') => `${p}-${++idn}`;
