// Users page: the people of the proxy with their role, teams, keys and spend; create (with a first
// key, shown once), edit role, budget and password, delete (their keys go with them).
import { html, useState } from '/ui/vendor/preact.js';
import { get, post } from './api.js';
import { Icon, ConfirmDialog, Alert, Badge, Empty, Spinner, toast, usePages, useDebounced, canWrite, lazy } from './ui.js';
import { shortDate, dateTime, num } from './util.js';
import { SpendCell, Models } from './keys.js';

const loadForm = () => import('./entityform.js');
const EntityForm = lazy(loadForm, 'EntityForm');
const SecretDialog = lazy(() => import('./keydialogs.js'), 'SecretDialog');

const PAGE = 25;
export const ROLES = [
  ['internal_user', 'Internal user'],
  ['internal_user_viewer', 'Internal viewer'],
  ['org_admin', 'Organization admin'],
  ['proxy_admin_viewer', 'Admin viewer'],
  ['proxy_admin', 'Proxy admin'],
];
const roleLabel = (r) => (ROLES.find(([x]) => x === r) || [r, r])[1];
const ROLE_TONE = { proxy_admin: 'red', proxy_admin_viewer: 'amber', org_admin: 'green' };

const PERIODS = [['', 'None'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['1mo', '1 month']];
const FIELDS = [
  { name: 'user_email', label: 'Email', kind: 'email', placeholder: 'name@example.com', cls: 'span2' },
  { name: 'user_alias', label: 'Name', kind: 'text', placeholder: 'Optional' },
  { name: 'user_id', label: 'User ID', kind: 'text', placeholder: 'Generated when empty', createOnly: true },
  { name: 'user_role', label: 'Role', kind: 'select', options: ROLES, initial: 'internal_user' },
  { name: 'password', label: 'Dashboard password', kind: 'password', hint: 'Lets them sign in here with their email. Leave empty for none (or to keep it).' },
  { name: 'models', kind: 'models' },
  { label: 'Budget', kind: 'section' },
  { name: 'max_budget', label: 'Max budget (USD)', kind: 'usd', placeholder: 'Unlimited' },
  { name: 'budget_duration', label: 'Budget period', kind: 'select', options: PERIODS },
  { label: 'Rate limits', kind: 'section' },
  { name: 'rpm_limit', label: 'RPM limit', kind: 'int', placeholder: 'No limit' },
  { name: 'tpm_limit', label: 'TPM limit', kind: 'int', placeholder: 'No limit' },
  { name: 'auto_create_key', label: 'Create a key for this user', kind: 'check', initial: true, createOnly: true, sendEmpty: true },
];

export function UsersPage({ session }) {
  const [search, setSearch] = useState('');
  const [role, setRole] = useState('');
  const [dialog, setDialog] = useState(null);
  const query = useDebounced(search.trim());
  const list = usePages(
    (page) => get('/user/list', { page, page_size: PAGE, user_email: query, role, sort_by: 'created_at', sort_order: 'desc' }).then((r) => ({ rows: r.users, total: r.total })),
    [query, role],
    PAGE,
  );
  const close = () => setDialog(null);
  const writable = canWrite(session);
  return html`<section class="page">
    <header class="page-head">
      <div><h1>Users</h1><p class="sub">People with a role on the proxy, their teams, keys and spend.</p></div>
      ${writable && html`<button type="button" class="btn primary" onMouseEnter=${() => EntityForm.preload()} onClick=${() => setDialog({ kind: 'form' })}><${Icon} name="plus" />Create user</button>`}
    </header>
    <div class="toolbar">
      <div class="search">
        <${Icon} name="search" size="14" />
        <label for="user-search" class="sr-only">Search users by email</label>
        <input id="user-search" type="search" placeholder="Search by email" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      </div>
      <label class="inline-field"><span>Role</span>
        <select value=${role} onChange=${(e) => setRole(e.target.value)}><option value="">All</option>${ROLES.map(([x, l]) => html`<option value=${x}>${l}</option>`)}</select>
      </label>
      ${list.loading && html`<${Spinner} />`}
    </div>
    ${list.error && html`<${Alert}>${list.error}<//>`}
    <div class="table-wrap">
      <table class="table" aria-label="Users">
        <thead><tr><th>User</th><th>Role</th><th>Teams</th><th>Models</th><th class="num">Keys</th><th>Spend / budget</th><th>Created</th><th class="actions-col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.rows.map((u) => html`<tr key=${u.user_id} data-testid="user-row">
          <td class="alias-cell"><div class="strong trunc">${u.user_alias || u.user_email || u.user_id}</div><div class="tiny muted trunc">${[u.user_email, u.user_id].filter(Boolean).join(' · ')}</div></td>
          <td><${Badge} tone=${ROLE_TONE[u.user_role]}>${roleLabel(u.user_role)}<//></td>
          <td>${u.teams.length ? html`<div class="chips">${u.teams.slice(0, 2).map((t) => html`<span class="chip">${t}</span>`)}${u.teams.length > 2 && html`<span class="chip more">+${u.teams.length - 2}</span>`}</div>` : html`<span class="muted">—</span>`}</td>
          <td><${Models} models=${u.models} /></td>
          <td class="num">${num(u.key_count)}</td>
          <td><${SpendCell} k=${u} /></td>
          <td title=${dateTime(u.created_at)}>${shortDate(u.created_at)}</td>
          <td class="row-actions">${writable && html`
            <button type="button" class="btn icon-only ghost sm" aria-label="Edit" title="Edit" onClick=${() => setDialog({ kind: 'form', user: u })}><${Icon} name="edit" size="15" /></button>
            <button type="button" class="btn icon-only ghost sm danger-hover" aria-label="Delete" title="Delete" onClick=${() => setDialog({ kind: 'delete', user: u })}><${Icon} name="trash" size="15" /></button>`}
          </td>
        </tr>`)}</tbody>
      </table>
      ${!list.loading && !list.error && !list.rows.length && html`<${Empty}>${search || role ? 'No users match these filters.' : 'No users yet.'}<//>`}
    </div>
    ${list.pager}
    ${dialog && dialog.kind === 'form' && html`<${EntityForm} title=${dialog.user ? `Edit user ${dialog.user.user_email || dialog.user.user_id}` : 'Create user'}
      fields=${FIELDS} existing=${dialog.user} idField="user_id" create="/user/new" update="/user/update" submitLabel="Create user" onClose=${close}
      onSaved=${(r, created) => {
        list.reload();
        if (created && r.key) setDialog({ kind: 'secret', key: r });
        else { setDialog(null); toast(created ? `Created ${r.user_email || r.user_id}` : `Saved ${dialog.user.user_email || dialog.user.user_id}`); }
      }} />`}
    ${dialog && dialog.kind === 'secret' && html`<${SecretDialog} title="User created, with a key" k=${dialog.key} onClose=${close} />`}
    ${dialog && dialog.kind === 'delete' && html`<${ConfirmDialog} title=${`Delete user ${dialog.user.user_email || dialog.user.user_id}?`} danger confirmLabel="Delete"
      message=${`Their ${dialog.user.key_count === 1 ? 'key stops' : `${dialog.user.key_count} keys stop`} working at once and they leave every team. Spend history is kept.`}
      onClose=${close}
      onConfirm=${async () => { await post('/user/delete', { user_ids: [dialog.user.user_id] }); setDialog(null); toast('User deleted'); list.reload(); }} />`}
  </section>`;
}
