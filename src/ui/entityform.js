// The create/edit dialog of users, teams and organizations, driven by a list of fields: typed values,
// checks before sending, and the server's refusal shown next to the field it names.
import { html, useState } from '/ui/vendor/preact.js';
import { post } from './api.js';
import { Modal, Alert, Field } from './ui.js';
import { ModelPicker } from './keydialogs.js';

export const BUDGET_PERIODS = [['', 'None'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['1mo', '1 month']];

const str = (v) => (v == null ? '' : String(v));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The field's value as the API takes it, or an error message. */
function parse(f, raw) {
  if (f.kind === 'models' || f.kind === 'check') return { value: raw };
  const s = String(raw).trim();
  if (s === '') return { value: null };
  if (f.kind === 'usd' || f.kind === 'int') {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) return { error: 'Enter a number of 0 or more.' };
    if (f.kind === 'int' && !Number.isInteger(n)) return { error: 'Enter a whole number of 0 or more.' };
    return { value: n };
  }
  if (f.kind === 'password' && (s.length < 8 || s.length > 128)) return { error: 'Use 8 to 128 characters.' };
  if (f.kind === 'email' && !/^[^\s@]+@[^\s@]+$/.test(s)) return { error: 'Enter an email address.' };
  return { value: s };
}

/**
 * fields: [{ name, label, kind: 'text'|'email'|'password'|'usd'|'int'|'select'|'models'|'check'|'section',
 *            options, hint, placeholder, cls, createOnly, required }]
 * A new record is sent with every field that has a value; an edited one with the fields that changed,
 * plus `idField`. Fields marked createOnly are not shown when editing.
 */
export function EntityForm({ title, fields, existing, idField, create, update, submitLabel, onClose, onSaved, extra }) {
  const shown = fields.filter((f) => !(existing && f.createOnly));
  const [v, setV] = useState(() => Object.fromEntries(shown.filter((f) => f.name).map((f) => [f.name, f.kind === 'models' ? (existing && existing[f.name]) || [] : f.kind === 'check' ? (existing ? !!existing[f.name] : !!f.initial) : str(existing ? existing[f.name] : f.initial)])));
  const [errors, setErrors] = useState({});
  const [serverErr, setServerErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (name) => (e) => setV((o) => ({ ...o, [name]: e.target.type === 'checkbox' ? e.target.checked : e.target.value }));

  const submit = async (ev) => {
    const errs = {};
    const body = existing ? { [idField]: existing[idField] } : {};
    for (const f of shown) {
      if (!f.name) continue;
      const r = parse(f, v[f.name]);
      if (r.error) { errs[f.name] = r.error; continue; }
      if (f.required && (r.value == null || r.value === '')) { errs[f.name] = 'Required.'; continue; }
      if (!existing) {
        if (r.value != null && !(Array.isArray(r.value) && !r.value.length && !f.sendEmpty)) body[f.name] = r.value;
      } else if (f.kind === 'password') {
        if (r.value != null) body[f.name] = r.value;
      } else if (!same(existing[f.name] ?? (f.kind === 'models' ? [] : null), r.value)) body[f.name] = r.value;
    }
    setErrors(errs);
    setServerErr(null);
    if (Object.keys(errs).length) {
      setTimeout(() => { const el = ev.target.querySelector('[aria-invalid="true"]'); if (el) el.focus(); });
      return;
    }
    if (existing && Object.keys(body).length === 1) { onClose(); return; }
    setBusy(true);
    try {
      onSaved(await post(existing ? update : create, body), !existing);
    } catch (e) {
      if (e.status === 401) return;
      setBusy(false);
      if (e.param && shown.some((f) => f.name === e.param)) setErrors({ [e.param]: e.message });
      else setServerErr(e.message);
    }
  };

  const control = (f) => {
    if (f.kind === 'section') return html`<div class="form-section">${f.label}</div>`;
    if (f.kind === 'models') return html`<${ModelPicker} value=${v[f.name]} onChange=${(m) => setV((o) => ({ ...o, [f.name]: m }))} />`;
    if (f.kind === 'check') {
      return html`<label class=${'check-line ' + (f.cls || 'span2')}><input type="checkbox" checked=${v[f.name]} onChange=${set(f.name)} /> ${f.label}</label>`;
    }
    return html`<${Field} class=${f.cls} label=${f.label} error=${errors[f.name]} hint=${f.hint}>
      ${(a) => f.kind === 'select'
        ? html`<select ...${a} value=${v[f.name]} onChange=${set(f.name)}>${f.options.map(([x, l]) => html`<option value=${x}>${l}</option>`)}</select>`
        : html`<input ...${a} type=${f.kind === 'password' ? 'password' : f.kind === 'email' ? 'email' : 'text'} autocomplete=${f.kind === 'password' ? 'new-password' : 'off'}
            inputmode=${f.kind === 'usd' ? 'decimal' : f.kind === 'int' ? 'numeric' : undefined} placeholder=${f.placeholder} value=${v[f.name]} onInput=${set(f.name)} />`}<//>`;
  };

  return html`<${Modal} title=${title} onClose=${onClose} size="lg" onSubmit=${submit}
    footer=${html`
      <button type="button" class="btn" onClick=${onClose}>Cancel</button>
      <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Saving…' : existing ? 'Save changes' : submitLabel}</button>`}>
    ${serverErr && html`<${Alert}>${serverErr}<//>`}
    <div class="form-grid">${shown.map(control)}</div>
    ${extra}
  <//>`;
}
