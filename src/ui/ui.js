// Shared building blocks: icons, modal dialogs, badges, pager, toasts, form fields.
import { html, h, useEffect, useRef, useState, useMemo } from '/ui/vendor/preact.js';
import { uid, cx } from './util.js';

// ---------- code splitting: a component whose module is imported on first render ----------
export function lazy(load, name) {
  let C = null;
  let p = null;
  const preload = () => (p ||= load().then((m) => (C = m[name])).catch((e) => { p = null; throw e; }));
  function Lazy(props) {
    const [, setReady] = useState(!!C);
    const [err, setErr] = useState(null);
    // Always through the promise: the module may have arrived between this render and its effect.
    useEffect(() => { preload().then(() => setReady(true), setErr); }, []);
    if (err) return html`<div class="page"><${Alert}>Part of the dashboard could not be loaded (${err.message}). Reload the page.<//></div>`;
    return C ? h(C, props) : null;
  }
  Lazy.preload = preload;
  return Lazy;
}

// ---------- icons (inline SVG, stroke paths, 24x24 grid) ----------
const P = {
  key: ['M2 15.5a5.5 5.5 0 1 0 11 0a5.5 5.5 0 1 0-11 0', 'M11.4 11.6 21 2', 'M15.5 7.5l3 3L22 7l-3-3'],
  box: ['M21 8 12 3 3 8v8l9 5 9-5z', 'm3 8 9 5 9-5', 'M12 13v8'],
  chart: ['M3 3v18h18', 'M7 16v-4', 'M12 16V8', 'M17 16V5'],
  list: ['M8 6h13', 'M8 12h13', 'M8 18h13', 'M3 6h.01', 'M3 12h.01', 'M3 18h.01'],
  edit: ['M12 20h9', 'M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z'],
  lock: ['M5 11h14a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1z', 'M8 11V7a4 4 0 0 1 8 0v4'],
  unlock: ['M5 11h14a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1z', 'M8 11V7a4 4 0 0 1 7.9-1'],
  refresh: ['M21 12a9 9 0 1 1-2.6-6.4L21 8', 'M21 3v5h-5'],
  trash: ['M3 6h18', 'M8 6V4h8v2', 'M19 6l-1 14H6L5 6', 'M10 11v6', 'M14 11v6'],
  plus: ['M12 5v14', 'M5 12h14'],
  x: ['M18 6 6 18', 'M6 6l12 12'],
  search: ['M4 11a7 7 0 1 0 14 0a7 7 0 1 0-14 0', 'm21 21-4.3-4.3'],
  logout: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'm16 17 5-5-5-5', 'M21 12H9'],
  copy: ['M11 9h9a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9a2 2 0 0 1-2-2v-9a2 2 0 0 1 2-2z', 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1'],
  check: ['M20 6 9 17l-5-5'],
  alert: ['M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z', 'M12 9v4', 'M12 17h.01'],
  left: ['m15 18-6-6 6-6'],
  right: ['m9 18 6-6-6-6'],
  logo: ['M13 2 4 14h7l-1 8 9-12h-7z'],
  user: ['M8 7a4 4 0 1 0 8 0a4 4 0 1 0-8 0', 'M4 21v-2a4 4 0 0 1 4-4h8a4 4 0 0 1 4 4v2'],
  users: ['M5 7a4 4 0 1 0 8 0a4 4 0 1 0-8 0', 'M3 21v-2a4 4 0 0 1 4-4h4a4 4 0 0 1 4 4v2', 'M16 3.1a4 4 0 0 1 0 7.8', 'M21 21v-2a4 4 0 0 0-3-3.9'],
  building: ['M3 21h18', 'M5 21V5a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2v16', 'M9 7h.01', 'M15 7h.01', 'M9 11h.01', 'M15 11h.01', 'M10 21v-4h4v4'],
};
export function Icon({ name, size = 16, class: cls }) {
  return html`<svg class=${cx('icon', cls)} viewBox="0 0 24 24" width=${size} height=${size} fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">${(P[name] || []).map((d) => html`<path d=${d} />`)}</svg>`;
}

// ---------- modal dialog (native <dialog> + showModal: focus trap, Esc, inert background) ----------
export function Modal({ title, onClose, children, footer, size, testid, onSubmit }) {
  const ref = useRef();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const titleId = useMemo(() => uid('dlg-title'), []);
  useEffect(() => {
    const d = ref.current;
    if (!d.open) d.showModal();
    const onCancel = (e) => { e.preventDefault(); closeRef.current && closeRef.current(); };
    const onNativeClose = () => closeRef.current && closeRef.current();
    d.addEventListener('cancel', onCancel);
    d.addEventListener('close', onNativeClose);
    return () => {
      d.removeEventListener('cancel', onCancel);
      d.removeEventListener('close', onNativeClose);
      if (d.open) d.close();
    };
  }, []);
  const body = html`
    <header class="dlg-head">
      <h2 id=${titleId}>${title}</h2>
      <button type="button" class="btn icon-only ghost" aria-label="Close" title="Close" onClick=${() => onClose()}><${Icon} name="x" /></button>
    </header>
    <div class="dlg-body">${children}</div>
    ${footer && html`<footer class="dlg-foot">${footer}</footer>`}`;
  return html`<dialog ref=${ref} class=${cx('dlg', size && 'dlg-' + size)} aria-labelledby=${titleId} data-testid=${testid}>
    ${onSubmit ? html`<form class="dlg-form" novalidate onSubmit=${(e) => { e.preventDefault(); onSubmit(e); }}>${body}</form>` : body}
  </dialog>`;
}

/** Confirm dialog. onConfirm may be async; its error message is shown inline. */
export function ConfirmDialog({ title, message, confirmLabel, danger, onConfirm, onClose }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  const go = async () => {
    setBusy(true);
    setErr(null);
    try {
      await onConfirm();
    } catch (e) {
      if (e && e.status === 401) return;
      setErr(e.message || String(e));
      setBusy(false);
    }
  };
  return html`<${Modal} title=${title} onClose=${onClose} size="sm" footer=${html`
      <button type="button" class="btn" onClick=${onClose} autofocus>Cancel</button>
      <button type="button" class=${cx('btn', danger ? 'danger' : 'primary')} disabled=${busy} onClick=${go}>${confirmLabel}</button>`}>
    <p class="confirm-msg">${message}</p>
    ${err && html`<${Alert}>${err}<//>`}
  <//>`;
}

export const Alert = ({ children, kind = 'error' }) =>
  html`<div class=${cx('alert', 'alert-' + kind)} role="alert"><${Icon} name="alert" /><span>${children}</span></div>`;

const BADGE = { Active: 'green', Healthy: 'green', Success: 'green', Blocked: 'red', Error: 'red', Unhealthy: 'red', Expired: 'amber', Estimated: 'amber' };
export const Badge = ({ children, tone, title }) =>
  html`<span class=${cx('badge', 'badge-' + (tone || BADGE[children] || 'grey'))} title=${title}>${children}</span>`;

export const Spinner = ({ label = 'Loading…' }) => html`<span class="spinner-wrap"><span class="spinner" aria-hidden="true"></span><span>${label}</span></span>`;

export function Pager({ hasPrev, hasNext, onPrev, onNext, info, busy }) {
  return html`<nav class="pager" aria-label="Pagination">
    <span class="muted">${info}</span>
    <div class="pager-btns">
      <button type="button" class="btn sm" disabled=${!hasPrev || busy} onClick=${onPrev}><${Icon} name="left" size="14" />Previous</button>
      <button type="button" class="btn sm" disabled=${!hasNext || busy} onClick=${onNext}>Next<${Icon} name="right" size="14" /></button>
    </div>
  </nav>`;
}

/** Labelled form field. `children` is a function (ids) => control, so the control gets the right id/aria. */
export function Field({ label, error, hint, children, class: cls }) {
  const id = useMemo(() => uid('f'), []);
  const errId = id + '-err';
  const hintId = id + '-hint';
  const describedBy = [error && errId, hint && hintId].filter(Boolean).join(' ') || undefined;
  return html`<div class=${cx('field', error && 'has-error', cls)}>
    <label for=${id}>${label}</label>
    ${children({ id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': describedBy })}
    ${hint && !error && html`<div class="hint" id=${hintId}>${hint}</div>`}
    ${error && html`<div class="field-error" id=${errId}>${error}</div>`}
  </div>`;
}

export const Empty = ({ children }) => html`<div class="empty">${children}</div>`;

// ---------- toasts ----------
let toasts = [];
const subs = new Set();
let tid = 0;
const emit = () => subs.forEach((f) => f(toasts));
export function toast(message, kind = 'info') {
  const id = ++tid;
  toasts = [...toasts, { id, message, kind }].slice(-3);
  emit();
  setTimeout(() => dismiss(id), kind === 'error' ? 8000 : 3500);
}
export const toastError = (e) => { if (!e || e.status === 401 || e.name === 'AbortError') return; toast(e.message || String(e), 'error'); };
function dismiss(id) { toasts = toasts.filter((t) => t.id !== id); emit(); }

export function Toaster() {
  const [list, setList] = useState(toasts);
  useEffect(() => { subs.add(setList); return () => subs.delete(setList); }, []);
  return html`<div class="toasts" aria-live="polite">
    ${list.map((t) => html`<div key=${t.id} class=${cx('toast', 'toast-' + t.kind)} role=${t.kind === 'error' ? 'alert' : 'status'}>
      <${Icon} name=${t.kind === 'error' ? 'alert' : 'check'} />
      <span>${t.message}</span>
      <button type="button" class="btn icon-only ghost sm" aria-label="Dismiss" onClick=${() => dismiss(t.id)}><${Icon} name="x" size="14" /></button>
    </div>`)}
  </div>`;
}

// ---------- page-numbered lists of the management API ----------
/** load(page) resolves to { rows, total }; the list goes back to page 1 when `deps` change. */
export function usePages(load, deps, pageSize) {
  const [page, setPage] = useState(1);
  const [state, setState] = useState({ rows: [], total: 0, loading: true, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => { setPage(1); }, deps);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load(page).then(
      (r) => { if (live) setState({ ...r, loading: false, error: null }); },
      (e) => { if (live) setState({ rows: [], total: 0, loading: false, error: e.message }); },
    );
    return () => { live = false; };
  }, [page, tick, ...deps]);
  const pager = html`<${Pager} hasPrev=${page > 1} hasNext=${page * pageSize < state.total} busy=${state.loading}
    onPrev=${() => setPage(page - 1)} onNext=${() => setPage(page + 1)}
    info=${state.rows.length ? `${(page - 1) * pageSize + 1}–${(page - 1) * pageSize + state.rows.length} of ${state.total}` : ''} />`;
  return { ...state, page, pager, reload: () => setTick((t) => t + 1), replace: (match, row) => setState((s) => ({ ...s, rows: s.rows.map((x) => (match(x) ? { ...x, ...row } : x)) })) };
}

/** Whether the signed-in role may change things (viewers only look). */
export const canWrite = (session) => !/_viewer$/.test(session.user_role || '');

/** The value once it has stopped changing for `ms` (search boxes: one request per pause, not per key). */
export function useDebounced(value, ms = 250) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value]);
  return v;
}
