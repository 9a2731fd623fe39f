// Key dialogs, loaded on demand by keys.js: create/edit form and the one-time secret dialog.
import { html, useState, useEffect, useRef, useCallback } from '/ui/vendor/preact.js';
import { post, getModels } from './api.js';
import { Icon, Modal, Alert, Field, Spinner } from './ui.js';
import { money, dateTime, keyLabel, cx } from './util.js';

// ---------- one-time secret dialog ----------
export function SecretDialog({ title, k, onClose }) {
  const [copied, setCopied] = useState(false);
  const [copyErr, setCopyErr] = useState(null);
  const codeRef = useRef();
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(k.key);
      setCopied(true);
      setCopyErr(null);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // Clipboard API unavailable (e.g. plain http on a remote host): select the text instead.
      const r = document.createRange();
      r.selectNodeContents(codeRef.current);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      setCopyErr('Copying is blocked here. The key is selected: press Ctrl+C (⌘C) to copy it.');
    }
  };
  return html`<${Modal} title=${title} onClose=${onClose} testid="secret-dialog" footer=${html`<button type="button" class="btn primary" onClick=${onClose}>Done</button>`}>
    <div class="alert alert-warn" role="note"><${Icon} name="alert" /><span><strong>Copy this key now.</strong> It will not be shown again; if you lose it, regenerate the key.</span></div>
    <div class="secret">
      <code ref=${codeRef} data-testid="new-key" class="mono">${k.key}</code>
      <button type="button" class="btn" onClick=${copy}><${Icon} name=${copied ? 'check' : 'copy'} size="14" />${copied ? 'Copied' : 'Copy'}</button>
    </div>
    ${copyErr && html`<p class="hint">${copyErr}</p>`}
    <dl class="kv compact">
      <dt>Name</dt><dd class="mono">${k.key_name || '—'}</dd>
      <dt>Alias</dt><dd>${k.key_alias || '—'}</dd>
      <dt>Models</dt><dd>${k.models && k.models.length ? k.models.join(', ') : 'All models'}</dd>
      <dt>Budget</dt><dd>${k.max_budget != null ? money(k.max_budget) + (k.budget_duration ? ' per ' + k.budget_duration : '') : 'None'}</dd>
      <dt>Expires</dt><dd>${k.expires ? dateTime(k.expires) : 'Never'}</dd>
    </dl>
  <//>`;
}

// ---------- create / edit form ----------
const BUDGET_PERIODS = [['', 'None'], ['1h', '1 hour'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days']];
const EXPIRIES = [['', 'Never'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['90d', '90 days']];
const NUMS = { max_budget: 'usd', soft_budget: 'usd', rpm_limit: 'int', tpm_limit: 'int', max_parallel_requests: 'int' };
const TEXTS = ['key_alias', 'user_id', 'team_id'];

const str = (v) => (v == null ? '' : String(v));
function initialValues(k) {
  return {
    key_alias: str(k && k.key_alias),
    models: (k && k.models) || [],
    max_budget: str(k && k.max_budget),
    soft_budget: str(k && k.soft_budget),
    budget_duration: str(k && k.budget_duration),
    duration: k ? 'keep' : '',
    rpm_limit: str(k && k.rpm_limit),
    tpm_limit: str(k && k.tpm_limit),
    max_parallel_requests: str(k && k.max_parallel_requests),
    user_id: str(k && k.user_id),
    team_id: str(k && k.team_id),
    metadata: k && k.metadata && Object.keys(k.metadata).length ? JSON.stringify(k.metadata, null, 2) : '',
  };
}

/** Returns [errors, parsed] where parsed holds typed values (null = empty). */
function validate(v) {
  const errors = {};
  const out = {};
  for (const [f, kind] of Object.entries(NUMS)) {
    const s = v[f].trim();
    if (s === '') { out[f] = null; continue; }
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) errors[f] = 'Enter a number of 0 or more.';
    else if (kind === 'int' && !Number.isInteger(n)) errors[f] = 'Enter a whole number of 0 or more.';
    else out[f] = n;
  }
  if (!errors.soft_budget && !errors.max_budget && out.soft_budget != null && out.max_budget != null && out.soft_budget > out.max_budget) {
    errors.soft_budget = 'The soft budget should not exceed the max budget.';
  }
  for (const f of TEXTS) out[f] = v[f].trim() || null;
  if (out.key_alias && out.key_alias.length > 256) errors.key_alias = 'Use at most 256 characters.';
  const m = v.metadata.trim();
  if (m === '') out.metadata = null;
  else {
    try {
      const j = JSON.parse(m);
      if (!j || typeof j !== 'object' || Array.isArray(j)) errors.metadata = 'Metadata must be a JSON object, e.g. {"team": "search"}.';
      else out.metadata = j;
    } catch (e) {
      errors.metadata = 'Invalid JSON: ' + e.message;
    }
  }
  out.models = v.models.slice();
  out.budget_duration = v.budget_duration || null;
  out.duration = v.duration;
  return [errors, out];
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function buildBody(out, existing) {
  const body = {};
  if (!existing) {
    for (const [f, val] of Object.entries(out)) {
      if (f === 'duration') { if (val) body.duration = val; continue; }
      if (f === 'models') { if (val.length) body.models = val; continue; }
      if (val != null) body[f] = val;
    }
    return body;
  }
  body.key = existing.token;
  for (const [f, val] of Object.entries(out)) {
    if (f === 'duration') { if (val !== 'keep') body.duration = val || null; continue; }
    const before = f === 'metadata' ? (existing.metadata && Object.keys(existing.metadata).length ? existing.metadata : null) : f === 'models' ? existing.models || [] : existing[f] ?? null;
    if (!same(before, val)) body[f] = f === 'metadata' && val == null ? {} : val;
  }
  return body;
}

export function ModelPicker({ value, onChange, describedBy }) {
  const [groups, setGroups] = useState(null);
  const [err, setErr] = useState(null);
  const [filter, setFilter] = useState('');
  useEffect(() => {
    getModels().then((r) => setGroups((r.data || []).map((g) => g.model_name))).catch((e) => setErr(e.message));
  }, []);
  const toggle = (m) => onChange(value.includes(m) ? value.filter((x) => x !== m) : [...value, m]);
  // Keep models that are on the key but no longer configured visible, so they can be removed.
  const all = groups ? [...groups, ...value.filter((m) => !groups.includes(m))] : [];
  const shown = filter ? all.filter((m) => m.toLowerCase().includes(filter.toLowerCase())) : all;
  return html`<fieldset class="field models-field" aria-describedby=${describedBy}>
    <legend>Models</legend>
    <div class="picker">
      <div class="picker-head">
        <span class=${cx('picker-summary', !value.length && 'muted')}>${value.length ? `${value.length} selected` : 'All models (none selected)'}</span>
        ${all.length > 8 && html`<input type="search" class="sm" aria-label="Filter models" placeholder="Filter…" value=${filter} onInput=${(e) => setFilter(e.target.value)} />`}
        ${value.length > 0 && html`<button type="button" class="btn ghost sm" onClick=${() => onChange([])}>Clear</button>`}
      </div>
      <div class="picker-list">
        ${err && html`<div class="field-error">${err}</div>`}
        ${!groups && !err && html`<${Spinner} />`}
        ${shown.map((m) => html`<label class=${cx('check', value.includes(m) && 'on')}>
          <input type="checkbox" checked=${value.includes(m)} onChange=${() => toggle(m)} />
          <span class="mono">${m}</span>${groups && !groups.includes(m) ? html`<span class="tiny muted"> (not configured)</span>` : ''}
        </label>`)}
      </div>
    </div>
    <div class="hint">Leave empty to allow every configured model.</div>
  </fieldset>`;
}

export function KeyForm({ existing, onClose, onSaved }) {
  const [v, setV] = useState(() => initialValues(existing));
  const [errors, setErrors] = useState({});
  const [serverErr, setServerErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (f) => (e) => setV((o) => ({ ...o, [f]: e.target.value }));
  const setVal = useCallback((f, val) => setV((o) => ({ ...o, [f]: val })), []);

  const submit = async (ev) => {
    const [errs, out] = validate(v);
    setErrors(errs);
    setServerErr(null);
    if (Object.keys(errs).length) {
      const first = ev.target.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      return;
    }
    const body = buildBody(out, existing);
    if (existing && Object.keys(body).length === 1) { onClose(); return; }
    setBusy(true);
    try {
      const r = await post(existing ? '/key/update' : '/key/generate', body);
      onSaved(r, !existing);
    } catch (e) {
      if (e.status === 401) return;
      setBusy(false);
      // A refusal about one field is shown next to that field; anything else above the form.
      if (e.param && (e.param in NUMS || TEXTS.includes(e.param) || e.param === 'metadata')) {
        setErrors({ [e.param]: e.message });
        setTimeout(() => { const el = ev.target.querySelector('[aria-invalid="true"]'); if (el) el.focus(); });
      } else setServerErr(e.message);
    }
  };

  const numField = (f, label, hint, placeholder, cls) => html`<${Field} class=${cls} label=${label} error=${errors[f]} hint=${hint}>
    ${(a) => html`<input ...${a} inputmode="decimal" placeholder=${placeholder || 'No limit'} value=${v[f]} onInput=${set(f)} />`}<//>`;
  const textField = (f, label, hint, placeholder, extra) => html`<${Field} label=${label} error=${errors[f]} hint=${hint}>
    ${(a) => html`<input ...${a} ...${extra} placeholder=${placeholder} value=${v[f]} onInput=${set(f)} />`}<//>`;

  const periods = BUDGET_PERIODS.some(([x]) => x === v.budget_duration) ? BUDGET_PERIODS : [...BUDGET_PERIODS, [v.budget_duration, v.budget_duration]];
  const expiries = existing ? [['keep', existing.expires ? `Keep current (${dateTime(existing.expires)})` : 'Keep current (never)'], ...EXPIRIES] : EXPIRIES;

  return html`<${Modal} title=${existing ? `Edit key ${keyLabel(existing)}` : 'Create key'} onClose=${onClose} size="lg" testid="key-form" onSubmit=${submit}
    footer=${html`
      <button type="button" class="btn" onClick=${onClose}>Cancel</button>
      <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Saving…' : existing ? 'Save changes' : 'Create key'}</button>`}>
    ${serverErr && html`<${Alert}>${serverErr}<//>`}
    <div class="form-grid">
      ${textField('key_alias', 'Alias', 'A name to find the key by, e.g. search-service-prod.', 'e.g. search-service', { autofocus: true, autocomplete: 'off' })}
      <${ModelPicker} value=${v.models} onChange=${(m) => setVal('models', m)} />
      <div class="form-section">Budget</div>
      ${numField('max_budget', 'Max budget (USD)', null, 'Unlimited')}
      ${numField('soft_budget', 'Soft budget (USD)', 'Alert threshold; requests still pass.', 'None')}
      <${Field} label="Budget period" hint="Spend resets at the end of each period.">
        ${(a) => html`<select ...${a} value=${v.budget_duration} onChange=${set('budget_duration')}>${periods.map(([x, l]) => html`<option value=${x}>${l}</option>`)}</select>`}<//>
      <${Field} label="Expires in" hint=${existing ? 'Counted from now.' : null}>
        ${(a) => html`<select ...${a} value=${v.duration} onChange=${set('duration')}>${expiries.map(([x, l]) => html`<option value=${x}>${l}</option>`)}</select>`}<//>
      <div class="form-section">Rate limits</div>
      ${numField('rpm_limit', 'RPM limit', 'Requests per minute.', null, 'third')}
      ${numField('tpm_limit', 'TPM limit', 'Tokens per minute.', null, 'third')}
      ${numField('max_parallel_requests', 'Max parallel requests', 'Concurrent requests.', null, 'third')}
      <div class="form-section">Ownership</div>
      ${textField('user_id', 'User ID', null, 'Optional')}
      ${textField('team_id', 'Team ID', null, 'Optional')}
      <${Field} class="span2" label="Metadata (JSON)" error=${errors.metadata} hint="A JSON object stored with the key.">
        ${(a) => html`<textarea ...${a} rows="4" class="mono" spellcheck="false" placeholder='{"team": "search"}' value=${v.metadata} onInput=${set('metadata')}></textarea>`}<//>
    </div>
  <//>`;
}
