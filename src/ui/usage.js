// Usage page: date range + bucket, totals, spend/requests chart (uPlot, loaded on demand), bar lists.
import { html, useState, useEffect, useRef } from '/ui/vendor/preact.js';
import { get, rememberKeys } from './api.js';
import { Alert, Spinner, Empty } from './ui.js';
import { money, num, short, plural, daysAgo, cx } from './util.js';

let uplotPromise = null;
const loadUPlot = () => (uplotPromise ||= import('/ui/vendor/uplot.js').then((m) => m.default));

// Whole UTC days (the API's unit): "2d" is yesterday and today.
const QUICK = [['2d', 1, 'hour'], ['7d', 6, 'hour'], ['30d', 29, 'day']];

export function UsagePage() {
  const [from, setFrom] = useState(() => daysAgo(6));
  const [to, setTo] = useState(() => daysAgo(0));
  const [bucket, setBucket] = useState('hour');
  const [data, setData] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);

  const rangeErr = !from || !to ? 'Pick both dates.' : from > to ? '“From” must be on or before “To”.' : null;

  useEffect(() => {
    if (rangeErr) return;
    const ctl = new AbortController();
    setLoading(true);
    get('/ui/api/usage', { start: from, end: to, bucket }, { signal: ctl.signal })
      .then((r) => { rememberKeys(r.by_key); setData(r); setError(null); setLoading(false); })
      .catch((e) => { if (e.name === 'AbortError') return; if (e.status !== 401) setError(e.message); setLoading(false); });
    return () => ctl.abort();
  }, [from, to, bucket, rangeErr]);

  const quick = (days, b) => { setFrom(daysAgo(days)); setTo(daysAgo(0)); setBucket(b); };
  const activeQuick = to === daysAgo(0) ? QUICK.find(([, d]) => from === daysAgo(d)) : null;
  const t = data && data.totals;

  return html`<section class="page">
    <header class="page-head">
      <div>
        <h1>Usage</h1>
        <p class="sub">${t ? `${money(t.spend)} spent on ${plural(t.requests, 'request')}, ${from} to ${to} (UTC)` : 'Spend, requests and tokens over time.'}</p>
      </div>
    </header>

    <div class="toolbar">
      <label class="inline-field"><span>From</span><input type="date" value=${from} max=${to || undefined} onChange=${(e) => setFrom(e.target.value)} /></label>
      <label class="inline-field"><span>To</span><input type="date" value=${to} min=${from || undefined} onChange=${(e) => setTo(e.target.value)} /></label>
      <div class="seg" role="group" aria-label="Quick ranges">
        ${QUICK.map(([l, d, b]) => html`<button type="button" class=${cx('seg-btn', activeQuick && activeQuick[0] === l && 'on')} aria-pressed=${activeQuick && activeQuick[0] === l ? 'true' : 'false'} onClick=${() => quick(d, b)}>${l}</button>`)}
      </div>
      <div class="seg" role="group" aria-label="Bucket">
        ${[['day', 'Day'], ['hour', 'Hour']].map(([b, l]) => html`<button type="button" class=${cx('seg-btn', bucket === b && 'on')} aria-pressed=${bucket === b ? 'true' : 'false'} onClick=${() => setBucket(b)}>${l}</button>`)}
      </div>
      ${loading && !rangeErr && html`<${Spinner} />`}
    </div>
    ${rangeErr && html`<${Alert}>${rangeErr}<//>`}
    ${error && html`<${Alert}>${error}<//>`}

    <div class="cards">
      <${Stat} label="Spend" value=${t ? money(t.spend) : '—'} sub=${t && t.requests ? `${money(t.spend / t.requests, 3)} per request` : ''} />
      <${Stat} label="Requests" value=${t ? num(t.requests) : '—'} sub=${t ? plural(t.requests, 'request') : ''} />
      <${Stat} label="Errors" value=${t ? num(t.errors) : '—'} tone=${t && t.errors ? 'red' : ''} sub=${t && t.requests ? `${((t.errors / t.requests) * 100).toFixed(t.errors && t.errors / t.requests < 0.01 ? 2 : 1)}% error rate` : ''} />
      <${Stat} label="Tokens in" value=${t ? short(t.input_tokens) : '—'} sub=${t ? num(t.input_tokens) + ' tokens' : ''} />
      <${Stat} label="Tokens out" value=${t ? short(t.output_tokens) : '—'} sub=${t ? num(t.output_tokens) + ' tokens' : ''} />
    </div>

    <div class="card chart-card">
      <div class="card-head"><h2>Spend and requests</h2><span class="muted">${bucket === 'hour' ? 'per hour, your local time' : 'per day (UTC)'}</span></div>
      <${Chart} data=${data} from=${from} to=${to} bucket=${data ? data.bucket || bucket : bucket} />
    </div>

    <div class="card chart-card">
      <div class="card-head"><h2>Tokens</h2><span class="muted">${bucket === 'hour' ? 'per hour, your local time' : 'per day (UTC)'}</span></div>
      <${Chart} kind="tokens" data=${data} from=${from} to=${to} bucket=${data ? data.bucket || bucket : bucket} />
    </div>

    <div class="two-col">
      <div class="card">
        <div class="card-head"><h2>Spend by model</h2></div>
        <${BarList} items=${data ? data.by_model.map((m) => ({ id: m.model_group, label: m.model_group, mono: true, value: m.spend, detail: `${plural(m.requests, 'request')} · ${short(m.tokens)} tokens` })) : null} />
      </div>
      <div class="card">
        <div class="card-head"><h2>Top keys by spend</h2></div>
        <${BarList} items=${data ? data.by_key.map((k) => ({ id: k.token, label: k.key_alias || k.key_name, sub: k.key_alias ? k.key_name : null, href: '#/logs?key=' + encodeURIComponent(k.token), value: k.spend, detail: `${plural(k.requests, 'request')} · ${short(k.tokens)} tokens` })) : null} />
      </div>
    </div>
  </section>`;
}

const Stat = ({ label, value, sub, tone }) => html`<div class="card stat">
  <div class="stat-label">${label}</div>
  <div class=${cx('stat-value', tone && 'text-' + tone)}>${value}</div>
  <div class="stat-sub muted">${sub || ' '}</div>
</div>`;

function BarList({ items }) {
  if (!items) return html`<${Spinner} />`;
  if (!items.length) return html`<${Empty}>No spend in this range.<//>`;
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  return html`<ol class="barlist">
    ${items.map((i) => html`<li key=${i.id}>
      <div class="barlist-row">
        <span class=${cx('barlist-label', i.mono && 'mono')}>${i.href ? html`<a class="link" href=${i.href}>${i.label}</a>` : i.label}${i.sub && html` <span class="muted mono tiny">${i.sub}</span>`}</span>
        <span class="mono">${money(i.value)}</span>
      </div>
      <div class="barlist-track"><span class="barlist-fill" style=${{ width: Math.max(0.5, (i.value / max) * 100) + '%' }}></span></div>
      <div class="tiny muted">${i.detail}</div>
    </li>`)}
  </ol>`;
}

/** Every bucket start (unix seconds) between from 00:00Z and the end of `to` (not past now). */
function buckets(from, to, bucket) {
  const step = bucket === 'hour' ? 3600 : 86400;
  const start = Date.parse(from + 'T00:00:00Z') / 1000;
  const end = Math.min(Date.parse(to + 'T00:00:00Z') / 1000 + 86400, Math.floor(Date.now() / 1000 / step) * step + step);
  const out = [];
  for (let s = start; s < end && out.length < 5000; s += step) out.push(s);
  return out;
}

function toColumns(series, from, to, bucket, kind) {
  const xs = buckets(from, to, bucket);
  const byT = new Map();
  for (const p of series || []) byT.set(Math.floor(Date.parse(p.t) / 1000), p);
  // include any server point outside our computed grid (e.g. clock skew)
  for (const k of byT.keys()) if (!xs.includes(k)) xs.push(k);
  xs.sort((a, b) => a - b);
  const col = (f) => xs.map((x) => byT.get(x)?.[f] ?? 0);
  return kind === 'tokens' ? [xs, col('input_tokens'), col('output_tokens')] : [xs, col('requests'), col('spend')];
}

function cssVar(name, el) {
  return getComputedStyle(el || document.documentElement).getPropertyValue(name).trim();
}

/** Spend (line) over requests (bars), or tokens in (bars) and out (line). */
function Chart({ data, from, to, bucket, kind = 'spend' }) {
  const box = useRef();
  const plot = useRef(null);
  const [libErr, setLibErr] = useState(null);

  useEffect(() => {
    if (!data) return;
    let dead = false;
    const cols = toColumns(data.series, from, to, bucket, kind);
    const tokens = kind === 'tokens';
    loadUPlot().then((uPlot) => {
      if (dead || !box.current) return;
      if (plot.current) { plot.current.destroy(); plot.current = null; }
      const el = box.current;
      const text = cssVar('--chart-text', el);
      const grid = cssVar('--chart-grid', el);
      const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 }, font: '11px system-ui, sans-serif' };
      const hourly = bucket === 'hour';
      const step = hourly ? 3600 : 86400;
      const opts = {
        // day buckets are UTC calendar days: label them in UTC so they match the date pickers
        ...(hourly ? {} : { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') }),
        width: el.clientWidth || 600,
        height: 260,
        padding: [12, 8, 0, 4],
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        legend: { live: true },
        scales: {
          // pad half a bucket each side so the first and last bars are not cut in half
          x: { time: true, range: (u, min, max) => [min - step / 2, max + step / 2] },
          usd: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
          tok: { range: (u, min, max) => [0, max > 0 ? Math.ceil(max * 1.15) : 1] },
          req: { range: (u, min, max) => [0, max > 0 ? Math.ceil(max * 1.15) : 1] },
        },
        series: [
          { value: (u, v) => (v == null ? '—' : new Date(v * 1000).toLocaleString(undefined, hourly ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium', timeZone: 'UTC' })) },
          {
            label: tokens ? 'Tokens in' : 'Requests', scale: tokens ? 'tok' : 'req', stroke: cssVar('--chart-req', el), fill: cssVar('--chart-req-fill', el), width: 1,
            paths: uPlot.paths.bars({ size: [0.7, 40], gap: 1 }), points: { show: false }, value: (u, v) => (v == null ? '—' : num(v)),
          },
          {
            label: tokens ? 'Tokens out' : 'Spend', scale: tokens ? 'tok' : 'usd', stroke: cssVar('--chart-spend', el), fill: cssVar('--chart-spend-fill', el), width: 2,
            points: { show: cols[0].length < 40 }, value: (u, v) => (v == null ? '—' : tokens ? num(v) : money(v)),
          },
        ],
        axes: [
          hourly ? { ...axis, space: 60 } : { ...axis, space: 50, incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400] },
          tokens
            ? { ...axis, scale: 'tok', size: 64, values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? short(v) : '')) }
            : { ...axis, scale: 'usd', size: 64, values: (u, vals) => vals.map((v) => money(v)) },
          ...(tokens ? [] : [{ ...axis, scale: 'req', side: 1, size: 48, grid: { show: false }, values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? short(v) : '')) }]),
        ],
      };
      plot.current = new uPlot(opts, cols, el);
    }).catch((e) => { if (!dead) setLibErr('The chart library could not be loaded: ' + e.message); });
    return () => { dead = true; };
  }, [data, from, to, bucket, kind]);

  useEffect(() => {
    const el = box.current;
    const ro = new ResizeObserver(() => {
      if (plot.current && el.clientWidth) plot.current.setSize({ width: el.clientWidth, height: 260 });
    });
    ro.observe(el);
    return () => { ro.disconnect(); if (plot.current) { plot.current.destroy(); plot.current = null; } };
  }, []);

  const empty = data && data.totals && data.totals.requests === 0;
  return html`<div class="chart-wrap">
    ${libErr && html`<${Alert}>${libErr}<//>`}
    <div class="chart" ref=${box} data-testid=${kind === 'tokens' ? 'tokens-chart' : 'usage-chart'}></div>
    ${!data && html`<div class="chart-overlay"><${Spinner} /></div>`}
    ${empty && html`<div class="chart-overlay muted">No requests in this range.</div>`}
  </div>`;
}
