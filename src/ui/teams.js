// Teams page: each team with its organization, models, members, keys and spend; create and edit
// (models, budget, limits), members, block and unblock (its keys stop at once), delete.
import { html, useState } from '/ui/vendor/preact.js';
import { get, post } from './api.js';
import { Icon, ConfirmDialog, Alert, Badge, Empty, Spinner, toast, toastError, usePages, useDebounced, canWrite, lazy } from './ui.js';
import { shortDate, dateTime, num } from './util.js';
import { SpendCell, Models } from './keys.js';

const EntityForm = lazy(() => import('./entityform.js'), 'EntityForm');
const MembersDialog = lazy(() => import('./members.js'), 'MembersDialog');

const PAGE = 25;
const PERIODS = [['', 'None'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['1mo', '1 month']];
const FIELDS = [
  { name: 'team_alias', label: 'Name', kind: 'text', placeholder: 'e.g. Search', required: true, cls: 'span2' },
  { name: 'team_id', label: 'Team ID', kind: 'text', placeholder: 'Generated when empty', createOnly: true },
  { name: 'organization_id', label: 'Organization ID', kind: 'text', placeholder: 'None', createOnly: true },
  { name: 'models', kind: 'models' },
  { label: 'Budget', kind: 'section' },
  { name: 'max_budget', label: 'Max budget (USD)', kind: 'usd', placeholder: 'Unlimited' },
  { name: 'budget_duration', label: 'Budget period', kind: 'select', options: PERIODS },
  { label: 'Rate limits', kind: 'section' },
  { name: 'rpm_limit', label: 'RPM limit', kind: 'int', placeholder: 'No limit', cls: 'third' },
  { name: 'tpm_limit', label: 'TPM limit', kind: 'int', placeholder: 'No limit', cls: 'third' },
  { name: 'max_parallel_requests', label: 'Max parallel requests', kind: 'int', placeholder: 'No limit', cls: 'third' },
];
const teamName = (t) => t.team_alias || t.team_id;

export function TeamsPage({ session }) {
  const [search, setSearch] = useState('');
  const [dialog, setDialog] = useState(null);
  const query = useDebounced(search.trim());
  const list = usePages(
    (page) => get('/v2/team/list', { page, page_size: PAGE, team_alias: query, sort_by: 'created_at', sort_order: 'desc' }).then((r) => ({ rows: r.teams, total: r.total })),
    [query],
    PAGE,
  );
  const close = () => setDialog(null);
  // Creating, editing, blocking and deleting teams is for admins of the proxy or of an organization.
  const manages = canWrite(session) && (session.user_role === 'proxy_admin' || session.user_role === 'org_admin');
  const toggleBlock = async (t) => {
    try {
      await post(t.blocked ? '/team/unblock' : '/team/block', { team_id: t.team_id });
      list.replace((x) => x.team_id === t.team_id, { blocked: !t.blocked });
      toast(`${t.blocked ? 'Unblocked' : 'Blocked'} ${teamName(t)}`);
    } catch (e) { toastError(e); }
  };
  return html`<section class="page">
    <header class="page-head">
      <div><h1>Teams</h1><p class="sub">Teams, their members, models, keys and spend.</p></div>
      ${manages && html`<button type="button" class="btn primary" onMouseEnter=${() => EntityForm.preload()} onClick=${() => setDialog({ kind: 'form' })}><${Icon} name="plus" />Create team</button>`}
    </header>
    <div class="toolbar">
      <div class="search">
        <${Icon} name="search" size="14" />
        <label for="team-search" class="sr-only">Search teams by name</label>
        <input id="team-search" type="search" placeholder="Search by name" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      </div>
      ${list.loading && html`<${Spinner} />`}
    </div>
    ${list.error && html`<${Alert}>${list.error}<//>`}
    <div class="table-wrap">
      <table class="table" aria-label="Teams">
        <thead><tr><th>Team</th><th>Organization</th><th>Models</th><th class="num">Members</th><th class="num">Keys</th><th>Spend / budget</th><th>Status</th><th>Created</th><th class="actions-col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.rows.map((t) => html`<tr key=${t.team_id} data-testid="team-row">
          <td class="alias-cell"><div class="strong trunc">${teamName(t)}</div><div class="tiny muted trunc">${t.team_id}</div></td>
          <td>${t.organization_id || html`<span class="muted">—</span>`}</td>
          <td><${Models} models=${t.models} /></td>
          <td class="num"><button type="button" class="btn ghost sm" onClick=${() => setDialog({ kind: 'members', team: t })} aria-label=${`Members of ${teamName(t)}`}>${num(t.members_count)}</button></td>
          <td class="num">${num(t.keys_count)}</td>
          <td><${SpendCell} k=${t} /></td>
          <td><${Badge}>${t.blocked ? 'Blocked' : 'Active'}<//></td>
          <td title=${dateTime(t.created_at)}>${shortDate(t.created_at)}</td>
          <td class="row-actions">
            <button type="button" class="btn icon-only ghost sm" aria-label="Members" title="Members" onClick=${() => setDialog({ kind: 'members', team: t })}><${Icon} name="users" size="15" /></button>
            ${manages && html`
            <button type="button" class="btn icon-only ghost sm" aria-label="Edit" title="Edit" onClick=${() => setDialog({ kind: 'form', team: t })}><${Icon} name="edit" size="15" /></button>
            <button type="button" class="btn icon-only ghost sm" aria-label=${t.blocked ? 'Unblock' : 'Block'} title=${t.blocked ? 'Unblock' : 'Block'} onClick=${() => toggleBlock(t)}><${Icon} name=${t.blocked ? 'unlock' : 'lock'} size="15" /></button>
            <button type="button" class="btn icon-only ghost sm danger-hover" aria-label="Delete" title="Delete" onClick=${() => setDialog({ kind: 'delete', team: t })}><${Icon} name="trash" size="15" /></button>`}
          </td>
        </tr>`)}</tbody>
      </table>
      ${!list.loading && !list.error && !list.rows.length && html`<${Empty}>${search ? 'No teams match this name.' : 'No teams yet.'}<//>`}
    </div>
    ${list.pager}
    ${dialog && dialog.kind === 'form' && html`<${EntityForm} title=${dialog.team ? `Edit team ${teamName(dialog.team)}` : 'Create team'}
      fields=${FIELDS} existing=${dialog.team} idField="team_id" create="/team/new" update="/team/update" submitLabel="Create team" onClose=${close}
      onSaved=${(r, created) => { setDialog(null); list.reload(); toast(created ? `Created ${teamName(r)}` : `Saved ${teamName(dialog.team)}`); }} />`}
    ${dialog && dialog.kind === 'members' && html`<${MembersDialog} kind="team" id=${dialog.team.team_id} name=${teamName(dialog.team)}
      writable=${canWrite(session) && (manages || (dialog.team.admins || []).includes(session.user_id))} onClose=${() => { close(); list.reload(); }} />`}
    ${dialog && dialog.kind === 'delete' && html`<${ConfirmDialog} title=${`Delete team ${teamName(dialog.team)}?`} danger confirmLabel="Delete"
      message=${`Its ${dialog.team.keys_count === 1 ? 'key stops' : `${num(dialog.team.keys_count)} keys stop`} working at once and its members leave it. Spend history is kept.`}
      onClose=${close}
      onConfirm=${async () => { await post('/team/delete', { team_ids: [dialog.team.team_id] }); setDialog(null); toast('Team deleted'); list.reload(); }} />`}
  </section>`;
}
