// Logs page: filtered, paged request log with a detail dialog. Never shows prompts (there are none).
import { html, useState, useEffect } from '/ui/vendor/preact.js';
import { get, getModels, knownKeys, rememberKeys, keyRef } from './api.js';
import { Alert, Badge, Pager, Empty, Spinner, Modal } from './ui.js';
import { money, num, ms, dateTime, dateTimeSec, stamp, plural, cx, nextDay } from './util.js';

const PAGE_SIZE = 50;

function keyDisplay(token) {
  if (!token) return { label: '—', full: '' };
  if (token === 'master_key') return { label: 'Master key', full: 'master_key' };
  const k = knownKeys.get(token);
  if (k) return { label: k.key_alias || k.key_name, sub: k.key_alias ? k.key_name : null, full: token, mono: !k.key_alias };
  return { label: token.slice(0, 10) + '…', full: token, mono: true };
}

export function LogsPage({ params }) {
  const initialKey = params.get('key') || '';
  const [keyInput, setKeyInput] = useState(initialKey);
  const [key, setKey] = useState(initialKey); // debounced
  const [model, setModel] = useState(params.get('model') || '');
  const [status, setStatus] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [page, setPage] = useState(1);
  const [res, setRes] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [groups, setGroups] = useState([]);
  const [detail, setDetail] = useState(null);
  const [, setKeysTick] = useState(0);

  // Follow #/logs?key=... links while already on this page.
  useEffect(() => { const k = params.get('key') || ''; setKeyInput(k); setKey(k); setPage(1); }, [params.get('key')]);

  useEffect(() => {
    getModels().then((r) => setGroups((r.data || []).map((g) => g.model_name))).catch(() => {});
    // Best effort: learn key aliases so rows can show names instead of hashes.
    // (a few pages of the documented size; stops early when there are no more)
    let live = true;
    (async () => {
      let after = null;
      for (let i = 0; i < 4 && live; i++) {
        const r = await get('/ui/api/keys', { status: 'all', after, limit: 25 });
        rememberKeys(r.data);
        if (live) setKeysTick((t) => t + 1);
        if (!r.next) break;
        after = r.next;
      }
    })().catch(() => {});
    return () => { live = false; };
  }, []);

  useEffect(() => {
    let live = true;
    const t = setTimeout(async () => {
      let v = keyInput.trim();
      // An alias typed in the box: its key's token (looked up when not among the keys already seen).
      if (v && !/^sk-/.test(v) && !/^[0-9a-f]{64}$/.test(v) && v !== 'master_key') {
        let found = null;
        for (const [token, k] of knownKeys) if (k.key_alias === v) { found = token; break; }
        if (!found) {
          const r = await get('/ui/api/keys', { search: v, limit: 10 }).catch(() => null);
          const k = r && r.data.find((x) => x.key_alias === v);
          if (k) { rememberKeys([k]); found = k.token; }
        }
        if (found) v = found;
      }
      v = await keyRef(v);
      if (live && v !== key) { setKey(v); setPage(1); }
    }, 400);
    return () => { live = false; clearTimeout(t); };
  }, [keyInput]);

  const rangeErr = from && to && from > to ? '“From” must be on or before “To”.' : null;

  useEffect(() => {
    if (rangeErr) return;
    const ctl = new AbortController();
    setLoading(true);
    // "To" is inclusive: the logs end before the next day starts.
    get('/spend/logs', { api_key: key, model, status, start_date: from, end_date: to && nextDay(to), page, page_size: PAGE_SIZE }, { signal: ctl.signal })
      .then((r) => { setRes(r); setError(null); setLoading(false); })
      .catch((e) => { if (e.name === 'AbortError') return; if (e.status !== 401) setError(e.message); setLoading(false); });
    return () => ctl.abort();
  }, [key, model, status, from, to, page, rangeErr]);

  const upd = (setter) => (e) => { setter(e.target.value); setPage(1); };
  const filtered = key || model || status || from || to;
  const clear = () => { setKeyInput(''); setKey(''); setModel(''); setStatus(''); setFrom(''); setTo(''); setPage(1); if (location.hash.includes('?')) location.hash = '#/logs'; };
  const rows = (res && res.data) || [];

  return html`<section class="page">
    <header class="page-head">
      <div>
        <h1>Logs</h1>
        <p class="sub">${res ? `${plural(res.total, 'request')}${filtered ? ' match these filters' : ' logged'}` : 'Every request the gateway metered.'}${key && knownKeys.get(key) ? ` · key ${keyDisplay(key).label}` : ''}
          ${filtered && html` · <button type="button" class="linkish accent" onClick=${clear}>Clear filters</button>`}</p>
      </div>
    </header>
    <div class="toolbar wrap">
      <label class="inline-field"><span>Key</span><input class="key-input mono" placeholder="Token, sk-… key or alias" value=${keyInput} onInput=${(e) => setKeyInput(e.target.value)} spellcheck="false" autocomplete="off" /></label>
      <label class="inline-field"><span>Model</span>
        <select value=${model} onChange=${upd(setModel)}>
          <option value="">All models</option>
          ${[...groups, ...(model && !groups.includes(model) ? [model] : [])].map((g) => html`<option value=${g}>${g}</option>`)}
        </select>
      </label>
      <label class="inline-field"><span>Status</span>
        <select value=${status} onChange=${upd(setStatus)}>
          <option value="">All</option><option value="success">Success</option><option value="error">Error</option>
        </select>
      </label>
      <label class="inline-field"><span>From</span><input type="date" value=${from} max=${to || undefined} onChange=${upd(setFrom)} /></label>
      <label class="inline-field"><span>To</span><input type="date" value=${to} min=${from || undefined} onChange=${upd(setTo)} /></label>
      ${loading && html`<${Spinner} />`}
    </div>
    ${rangeErr && html`<${Alert}>${rangeErr}<//>`}
    ${error && html`<${Alert}>${error}<//>`}

    <div class="table-wrap">
      <table class="table logs-table" aria-label="Requests">
        <thead><tr>
          <th>Time</th><th>Key</th><th>Model</th><th>Status</th><th class="num">Tokens in</th><th class="num">Tokens out</th><th class="num">Cost</th><th class="num">Latency</th><th class="num">TTFT</th>
        </tr></thead>
        <tbody>
          ${rows.map((l) => {
            const k = keyDisplay(l.api_key);
            const ok = l.status === 'success';
            return html`<tr key=${l.request_id} class="clickable" data-testid="log-row" onClick=${() => setDetail(l)}>
              <td class="nowrap"><button type="button" class="linkish" onClick=${(e) => { e.stopPropagation(); setDetail(l); }} title=${dateTimeSec(l.startTime) + ' · show details'}>${stamp(l.startTime)}</button></td>
              <td class="key-cell" title=${[k.label, k.sub, k.full].filter(Boolean).join('\n')}><span class=${cx(k.mono && 'mono')}>${k.label}</span></td>
              <td class="mono" title=${l.model}>${l.model_group}</td>
              <td>${ok ? html`<${Badge}>Success<//>` : html`<${Badge} tone="red" title=${l.error_type || ''}>Error${l.http_status ? ' ' + l.http_status : ''}<//>`}</td>
              <td class="num mono">${num(l.prompt_tokens)}</td>
              <td class="num mono">${num(l.completion_tokens)}</td>
              <td class="num mono">${money(l.spend)}${l.estimated ? html`<span class="est" title="Estimated">*</span>` : ''}</td>
              <td class="num mono">${ms(l.latency_ms)}</td>
              <td class="num mono">${l.time_to_first_token_ms != null ? ms(l.time_to_first_token_ms) : html`<span class="muted">—</span>`}</td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${!loading && !error && rows.length === 0 && html`<${Empty}>${filtered ? 'No requests match these filters.' : 'No requests logged yet.'}<//>`}
    </div>
    ${res && html`<${Pager} hasPrev=${page > 1} hasNext=${page < (res.total_pages || 1)} busy=${loading}
      onPrev=${() => setPage(page - 1)} onNext=${() => setPage(page + 1)}
      info=${res.total ? `Page ${num(res.page)} of ${num(res.total_pages)} · ${plural(res.total, 'request')}` : ''} />`}
    ${detail && html`<${LogDetail} l=${detail} onClose=${() => setDetail(null)} />`}
  </section>`;
}

const Row = (label, value, cls) => html`<dt>${label}</dt><dd class=${cls}>${value == null || value === '' ? html`<span class="muted">—</span>` : value}</dd>`;

function LogDetail({ l, onClose }) {
  const u = l.usage || {};
  const k = keyDisplay(l.api_key);
  const ok = l.status === 'success';
  return html`<${Modal} title="Request details" onClose=${onClose} size="lg" testid="log-detail">
    <div class="detail-top">
      ${ok ? html`<${Badge}>Success<//>` : html`<${Badge} tone="red">Error<//>`}
      <span class="mono">${l.model_group}</span>
      <span class="muted">${dateTimeSec(l.startTime)}</span>
      ${l.estimated && html`<${Badge} tone="amber" title="Token counts or cost were estimated, not reported by the provider">Estimated<//>`}
    </div>
    <div class="detail-stats">
      <div><div class="stat-label">Cost</div><div class="stat-value sm">${money(l.spend)}</div></div>
      <div><div class="stat-label">Latency</div><div class="stat-value sm">${ms(l.latency_ms)}</div></div>
      <div><div class="stat-label">Time to first token</div><div class="stat-value sm">${l.time_to_first_token_ms != null ? ms(l.time_to_first_token_ms) : '—'}</div></div>
      <div><div class="stat-label">Total tokens</div><div class="stat-value sm">${num(l.total_tokens)}</div></div>
    </div>
    <div class="detail-grid">
      <section>
        <h3>Usage</h3>
        <dl class="kv">
          ${Row('Input tokens', num(u.input_tokens ?? l.prompt_tokens), 'mono num')}
          ${Row('Cache read', num(u.cache_read_tokens ?? 0), 'mono num')}
          ${Row('Cache write', num(u.cache_write_tokens ?? 0), 'mono num')}
          ${Row('Cache write (1h)', num(u.cache_write_1h_tokens ?? 0), 'mono num')}
          ${Row('Output tokens', num(u.output_tokens ?? l.completion_tokens), 'mono num')}
          ${Row('Reasoning tokens', num(u.reasoning_tokens ?? 0), 'mono num')}
          ${Row('Prompt / completion', `${num(l.prompt_tokens)} / ${num(l.completion_tokens)}`, 'mono num')}
        </dl>
        <h3>Outcome</h3>
        <dl class="kv">
          ${Row('Status', l.status)}
          ${Row('HTTP status', l.http_status)}
          ${Row('Error type', l.error_type, 'mono')}
          ${Row('Estimated', l.estimated ? 'Yes' : 'No')}
          ${Row('Streamed', l.stream ? 'Yes' : 'No')}
        </dl>
      </section>
      <section>
        <h3>Routing</h3>
        <dl class="kv">
          ${Row('Call type', l.call_type, 'mono')}
          ${Row('Model group', l.model_group, 'mono')}
          ${Row('Upstream model', l.model, 'mono')}
          ${Row('Provider', l.custom_llm_provider)}
          ${Row('Deployment ID', l.model_id, 'mono break')}
        </dl>
        <h3>IDs</h3>
        <dl class="kv">
          ${Row('Request ID', l.request_id, 'mono break')}
          ${Row('Upstream request ID', l.upstream_request_id, 'mono break')}
          ${Row('Key', html`${k.label}${k.full && k.full !== k.label ? html`<div class="tiny muted mono break">${k.full}</div>` : ''}`)}
          ${Row('User', l.user, 'mono')}
          ${Row('Team', l.team_id, 'mono')}
          ${Row('End user', l.end_user, 'mono')}
          ${Row('Tags', l.request_tags && l.request_tags.length ? l.request_tags.join(', ') : null)}
          ${Row('Start time', dateTime(l.startTime))}
        </dl>
      </section>
    </div>
  <//>`;
}
