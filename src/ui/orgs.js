// Organizations page: each organization with its models, teams, members and spend; create and edit
// (models, budget), members, delete (its teams and their keys go with it). Proxy admins only write.
import { html, useState } from '/ui/vendor/preact.js';
import { get, post } from './api.js';
import { Icon, ConfirmDialog, Alert, Empty, Spinner, toast, usePages, canWrite, lazy } from './ui.js';
import { shortDate, dateTime, num, money } from './util.js';
import { Models } from './keys.js';

const EntityForm = lazy(() => import('./entityform.js'), 'EntityForm');
const MembersDialog = lazy(() => import('./members.js'), 'MembersDialog');

const PERIODS = [['', 'None'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['1mo', '1 month']];
const FIELDS = [
  { name: 'organization_alias', label: 'Name', kind: 'text', placeholder: 'e.g. Acme Research', required: true, cls: 'span2' },
  { name: 'organization_id', label: 'Organization ID', kind: 'text', placeholder: 'Generated when empty', createOnly: true },
  { name: 'models', kind: 'models' },
  { label: 'Budget', kind: 'section' },
  { name: 'max_budget', label: 'Max budget (USD)', kind: 'usd', placeholder: 'Unlimited' },
  { name: 'budget_duration', label: 'Budget period', kind: 'select', options: PERIODS },
];
const orgName = (o) => o.organization_alias || o.organization_id;
// The form edits the organization's budget fields, which LiteLLM keeps in its budget table.
const formView = (o) => o && { ...o, max_budget: o.litellm_budget_table?.max_budget ?? null, budget_duration: o.litellm_budget_table?.budget_duration ?? null };

export function OrgsPage({ session }) {
  const [dialog, setDialog] = useState(null);
  // /organization/list answers every organization the caller may see at once, members and teams included.
  const list = usePages(() => get('/organization/list').then((rows) => ({ rows, total: rows.length })), [], Infinity);
  const close = () => setDialog(null);
  const admin = session.user_role === 'proxy_admin';
  const manages = (o) => canWrite(session) && (admin || o.members.some((m) => m.user_id === session.user_id && m.user_role === 'org_admin'));
  return html`<section class="page">
    <header class="page-head">
      <div><h1>Organizations</h1><p class="sub">Organizations bound the models and budgets of the teams in them.</p></div>
      ${admin && html`<button type="button" class="btn primary" onMouseEnter=${() => EntityForm.preload()} onClick=${() => setDialog({ kind: 'form' })}><${Icon} name="plus" />Create organization</button>`}
    </header>
    <div class="toolbar">${list.loading && html`<${Spinner} />`}</div>
    ${list.error && html`<${Alert}>${list.error}<//>`}
    <div class="table-wrap">
      <table class="table" aria-label="Organizations">
        <thead><tr><th>Organization</th><th>Models</th><th class="num">Teams</th><th class="num">Members</th><th>Spend / budget</th><th>Created</th><th class="actions-col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.rows.map((o) => html`<tr key=${o.organization_id} data-testid="org-row">
          <td class="alias-cell"><div class="strong trunc">${orgName(o)}</div><div class="tiny muted trunc">${o.organization_id}</div></td>
          <td><${Models} models=${o.models} /></td>
          <td class="num" title=${o.teams.map((t) => t.team_alias || t.team_id).join(', ')}>${num(o.teams.length)}</td>
          <td class="num"><button type="button" class="btn ghost sm" onClick=${() => setDialog({ kind: 'members', org: o })} aria-label=${`Members of ${orgName(o)}`}>${num(o.members.length)}</button></td>
          <td><span class="mono">${money(o.spend)}</span>${o.litellm_budget_table?.max_budget != null ? html`<span class="muted"> / ${money(o.litellm_budget_table.max_budget)}</span>` : html`<span class="muted"> · no budget</span>`}</td>
          <td title=${dateTime(o.created_at)}>${shortDate(o.created_at)}</td>
          <td class="row-actions">
            <button type="button" class="btn icon-only ghost sm" aria-label="Members" title="Members" onClick=${() => setDialog({ kind: 'members', org: o })}><${Icon} name="users" size="15" /></button>
            ${admin && canWrite(session) && html`
            <button type="button" class="btn icon-only ghost sm" aria-label="Edit" title="Edit" onClick=${() => setDialog({ kind: 'form', org: o })}><${Icon} name="edit" size="15" /></button>
            <button type="button" class="btn icon-only ghost sm danger-hover" aria-label="Delete" title="Delete" onClick=${() => setDialog({ kind: 'delete', org: o })}><${Icon} name="trash" size="15" /></button>`}
          </td>
        </tr>`)}</tbody>
      </table>
      ${!list.loading && !list.error && !list.rows.length && html`<${Empty}>No organizations yet.<//>`}
    </div>
    ${dialog && dialog.kind === 'form' && html`<${EntityForm} title=${dialog.org ? `Edit organization ${orgName(dialog.org)}` : 'Create organization'}
      fields=${FIELDS} existing=${formView(dialog.org)} idField="organization_id" create="/organization/new" update="/organization/update" submitLabel="Create organization" onClose=${close}
      onSaved=${(r, created) => { setDialog(null); list.reload(); toast(created ? `Created ${orgName(r)}` : `Saved ${orgName(dialog.org)}`); }} />`}
    ${dialog && dialog.kind === 'members' && html`<${MembersDialog} kind="org" id=${dialog.org.organization_id} name=${orgName(dialog.org)}
      writable=${manages(dialog.org)} onClose=${() => { close(); list.reload(); }} />`}
    ${dialog && dialog.kind === 'delete' && html`<${ConfirmDialog} title=${`Delete organization ${orgName(dialog.org)}?`} danger confirmLabel="Delete"
      message=${`Its ${dialog.org.teams.length === 1 ? 'team is' : `${num(dialog.org.teams.length)} teams are`} deleted with it, and their keys stop working at once. Spend history is kept.`}
      onClose=${close}
      onConfirm=${async () => { await post('/organization/delete', { organization_ids: [dialog.org.organization_id] }); setDialog(null); toast('Organization deleted'); list.reload(); }} />`}
  </section>`;
}
