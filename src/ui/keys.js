// Keys page: list with search/status filter and keyset paging, create/edit form,
// block/unblock, regenerate, delete, and the one-time raw key dialog.
import { html, useState, useEffect } from '/ui/vendor/preact.js';
import { get, post, rememberKeys, keyRef } from './api.js';
import { Icon, ConfirmDialog, Alert, Badge, Pager, Empty, Spinner, toast, toastError, canWrite, lazy } from './ui.js';
import { money, num, short, shortDate, dateTime, relative, keyStatus, keyLabel, cx } from './util.js';

// The form and the one-time secret dialog are only fetched when first needed.
const loadDialogs = () => import('./keydialogs.js');
const KeyForm = lazy(loadDialogs, 'KeyForm');
const SecretDialog = lazy(loadDialogs, 'SecretDialog');

const PAGE = 25;

export function KeysPage({ session }) {
  const writable = canWrite(session);
  const [search, setSearch] = useState('');
  const [q, setQ] = useState(''); // debounced search
  const [status, setStatus] = useState('all');
  const [stack, setStack] = useState([]); // cursors of previous pages
  const [cursor, setCursor] = useState(null);
  const [page, setPage] = useState({ data: [], next: null });
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [dialog, setDialog] = useState(null); // {kind: 'form'|'secret'|'delete'|'regen', ...}
  const [reloadTick, setReloadTick] = useState(0);
  const reload = () => setReloadTick((t) => t + 1);
  const firstPage = () => { setStack([]); setCursor(null); reload(); };

  useEffect(() => {
    const v = search.trim();
    if (v === q) return undefined;
    const t = setTimeout(() => { setQ(v); setStack([]); setCursor(null); }, 250);
    return () => clearTimeout(t);
  }, [search]);

  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    keyRef(q)
      .then((search) => get('/ui/api/keys', { search, status, after: cursor, limit: PAGE }, { signal: ctl.signal }))
      .then((r) => { rememberKeys(r.data); setPage({ data: r.data || [], next: r.next || null }); setError(null); setLoading(false); })
      // Rows of another page must not stay under this page's cursor.
      .catch((e) => { if (e.name === 'AbortError') return; setPage({ data: [], next: null }); setError(e.message); setLoading(false); });
    return () => ctl.abort();
  }, [q, status, cursor, reloadTick]);

  const next = () => { setStack([...stack, cursor]); setCursor(page.next); };
  const prev = () => { const s = stack.slice(); const c = s.pop(); setStack(s); setCursor(c ?? null); };
  const replaceRow = (k) => setPage((p) => ({ ...p, data: p.data.map((x) => (x.token === k.token ? { ...x, ...k } : x)) }));

  const toggleBlock = async (k) => {
    try {
      const r = await post(k.blocked ? '/key/unblock' : '/key/block', { key: k.token });
      replaceRow(r && r.token ? r : { ...k, blocked: !k.blocked });
      toast(`${k.blocked ? 'Unblocked' : 'Blocked'} ${keyLabel(k)}`);
    } catch (e) { toastError(e); }
  };

  const close = () => setDialog(null);
  const start = stack.length * PAGE;

  return html`<section class="page">
    <header class="page-head">
      <div>
        <h1>Keys</h1>
        <p class="sub">Virtual keys, their budgets, limits and status.</p>
      </div>
      ${writable && html`<button type="button" class="btn primary" onMouseEnter=${() => KeyForm.preload()} onClick=${() => setDialog({ kind: 'form' })}><${Icon} name="plus" />Create key</button>`}
    </header>

    <div class="toolbar">
      <div class="search">
        <${Icon} name="search" size="14" />
        <label for="key-search" class="sr-only">Search keys</label>
        <input id="key-search" type="search" placeholder="Search by alias or sk-…abcd" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      </div>
      <label class="inline-field">
        <span>Status</span>
        <select value=${status} onChange=${(e) => { setStatus(e.target.value); setStack([]); setCursor(null); }}>
          <option value="all">All</option>
          <option value="active">Active</option>
          <option value="blocked">Blocked</option>
          <option value="expired">Expired</option>
        </select>
      </label>
      ${loading && html`<${Spinner} />`}
    </div>

    ${error && html`<${Alert}>${error}<//>`}

    <div class="table-wrap">
      <table class="table keys-table" aria-label="Keys">
        <thead><tr>
          <th>Alias</th><th>Key</th><th>Models</th><th>Spend / budget</th><th>Limits</th><th>Expires</th><th>Status</th><th>Created</th><th class="actions-col"><span class="sr-only">Actions</span></th>
        </tr></thead>
        <tbody>
          ${page.data.map((k) => html`<${KeyRow} key=${k.token} k=${k} writable=${writable}
            onEdit=${() => setDialog({ kind: 'form', key: k })}
            onBlock=${() => toggleBlock(k)}
            onRegen=${() => setDialog({ kind: 'regen', key: k })}
            onDelete=${() => setDialog({ kind: 'delete', key: k })} />`)}
        </tbody>
      </table>
      ${!loading && !error && page.data.length === 0 && html`<${Empty}>${q || status !== 'all' ? 'No keys match these filters.' : 'No keys yet. Create one to get started.'}<//>`}
    </div>
    <${Pager} hasPrev=${stack.length > 0} hasNext=${!!page.next} onPrev=${prev} onNext=${next} busy=${loading}
      info=${page.data.length ? `${num(start + 1)}–${num(start + page.data.length)}` : ''} />

    ${dialog && dialog.kind === 'form' && html`<${KeyForm} existing=${dialog.key} onClose=${close}
      onSaved=${(k, created) => {
        if (created) { setDialog({ kind: 'secret', key: k, title: 'Key created' }); firstPage(); }
        else { replaceRow(k); setDialog(null); toast(`Saved ${keyLabel(k)}`); }
      }} />`}
    ${dialog && dialog.kind === 'secret' && html`<${SecretDialog} title=${dialog.title} k=${dialog.key} onClose=${close} />`}
    ${dialog && dialog.kind === 'delete' && html`<${ConfirmDialog} title=${`Delete key ${keyLabel(dialog.key)}?`} danger confirmLabel="Delete"
      message="Requests using this key will be rejected immediately. Its spend history is kept. This cannot be undone."
      onClose=${close}
      onConfirm=${async () => {
        await post('/key/delete', { keys: [dialog.key.token] });
        setDialog(null);
        toast(`Deleted ${keyLabel(dialog.key)}`);
        if (page.data.length === 1 && stack.length) prev(); else reload();
      }} />`}
    ${dialog && dialog.kind === 'regen' && html`<${ConfirmDialog} title=${`Regenerate key ${keyLabel(dialog.key)}?`} confirmLabel="Regenerate"
      message="A new secret is issued and the current one stops working immediately. Budget, limits and spend are kept."
      onClose=${close}
      onConfirm=${async () => {
        const [r] = await Promise.all([post('/key/regenerate', { key: dialog.key.token }), SecretDialog.preload()]);
        setDialog({ kind: 'secret', key: r, title: 'Key regenerated' });
        reload();
      }} />`}
  </section>`;
}

export function SpendCell({ k }) {
  const budget = k.max_budget;
  const pct = budget ? Math.min(100, (k.spend / budget) * 100) : 0;
  const tone = budget && k.spend >= budget ? 'over' : (k.soft_budget != null && k.spend >= k.soft_budget) || pct >= 80 ? 'warn' : '';
  return html`<div class="spend">
    ${budget != null && html`<div class="bar" role="img" aria-label=${`${Math.round(pct)}% of budget used`}><span class=${cx('bar-fill', tone)} style=${{ width: pct + '%' }}></span></div>`}
    <div class="spend-text"><span class="mono">${money(k.spend)}</span>${budget != null ? html`<span class="muted"> / ${money(budget)}</span>` : html`<span class="muted"> · no budget</span>`}</div>
    ${k.budget_duration && html`<div class="tiny muted" title=${k.budget_reset_at ? 'Resets ' + dateTime(k.budget_reset_at) : ''}>per ${k.budget_duration}${k.budget_reset_at ? ' · resets ' + relative(k.budget_reset_at) : ''}</div>`}
  </div>`;
}

export function Models({ models }) {
  if (!models || !models.length) return html`<span class="muted">All models</span>`;
  return html`<div class="chips" title=${models.join(', ')}><span class="chip">${models[0]}</span>${models.length > 1 && html`<span class="chip more">+${models.length - 1}</span>`}</div>`;
}

function Limits({ k }) {
  const parts = [];
  if (k.rpm_limit != null) parts.push(`${short(k.rpm_limit)} rpm`);
  if (k.tpm_limit != null) parts.push(`${short(k.tpm_limit)} tpm`);
  if (k.max_parallel_requests != null) parts.push(`${num(k.max_parallel_requests)} parallel`);
  return parts.length ? html`<div class="limits">${parts.map((p) => html`<span>${p}</span>`)}</div>` : html`<span class="muted">—</span>`;
}

function KeyRow({ k, writable, onEdit, onBlock, onRegen, onDelete }) {
  const st = keyStatus(k);
  return html`<tr data-testid="key-row" data-token=${k.token}>
    <td class="alias-cell"><div class="strong trunc" title=${k.key_alias || ''}>${k.key_alias || html`<span class="muted">—</span>`}</div>${k.user_id || k.team_id ? html`<div class="tiny muted trunc">${[k.user_id && 'user ' + k.user_id, k.team_id && 'team ' + k.team_id].filter(Boolean).join(' · ')}</div>` : ''}</td>
    <td><a class="mono link" href=${'#/logs?key=' + encodeURIComponent(k.token)} title="Show this key's requests">${k.key_name}</a></td>
    <td><${Models} models=${k.models} /></td>
    <td><${SpendCell} k=${k} /></td>
    <td><${Limits} k=${k} /></td>
    <td title=${k.expires ? dateTime(k.expires) : ''}>${k.expires ? html`${shortDate(k.expires)}<div class="tiny muted">${relative(k.expires)}</div>` : html`<span class="muted">Never</span>`}</td>
    <td><${Badge}>${st}<//></td>
    <td title=${dateTime(k.created_at)}>${shortDate(k.created_at)}</td>
    <td class="row-actions">${writable && html`
      <button type="button" class="btn icon-only ghost sm" aria-label="Edit" title="Edit" onClick=${onEdit}><${Icon} name="edit" size="15" /></button>
      <button type="button" class="btn icon-only ghost sm" aria-label=${k.blocked ? 'Unblock' : 'Block'} title=${k.blocked ? 'Unblock' : 'Block'} onClick=${onBlock}><${Icon} name=${k.blocked ? 'unlock' : 'lock'} size="15" /></button>
      <button type="button" class="btn icon-only ghost sm" aria-label="Regenerate" title="Regenerate" onClick=${onRegen}><${Icon} name="refresh" size="15" /></button>
      <button type="button" class="btn icon-only ghost sm danger-hover" aria-label="Delete" title="Delete" onClick=${onDelete}><${Icon} name="trash" size="15" /></button>`}
    </td>
  </tr>`;
}
