// The members of a team or an organization: their role and spend, add one by email or user id,
// change a role, remove. `kind` says which API: LiteLLM's /team/member_* or /organization/member_*.
import { html, useState, useEffect } from '/ui/vendor/preact.js';
import { get, post } from './api.js';
import { Modal, Alert, Badge, Spinner, Icon } from './ui.js';
import { money } from './util.js';

const KINDS = {
  team: {
    idField: 'team_id',
    roles: [['user', 'Member'], ['admin', 'Team admin']],
    load: async (id) => {
      const r = await get('/team/info', { team_id: id });
      const spend = new Map(r.team_memberships.map((m) => [m.user_id, m.spend]));
      return r.team_info.members_with_roles.map((m) => ({ user_id: m.user_id, user_email: m.user_email, role: m.role, spend: spend.get(m.user_id) ?? 0 }));
    },
    add: (id, member) => post('/team/member_add', { team_id: id, member }),
    update: (id, user_id, role) => post('/team/member_update', { team_id: id, user_id, role }),
    remove: (id, user_id) => post('/team/member_delete', { team_id: id, user_id }),
  },
  org: {
    idField: 'organization_id',
    roles: [['internal_user', 'Member'], ['internal_user_viewer', 'Viewer'], ['org_admin', 'Organization admin']],
    load: async (id) => (await get('/organization/info', { organization_id: id })).members.map((m) => ({ user_id: m.user_id, user_email: m.user_email, role: m.user_role, spend: m.spend })),
    add: (id, member) => post('/organization/member_add', { organization_id: id, member: [member] }),
    update: (id, user_id, role) => post('/organization/member_update', { organization_id: id, user_id, role }),
    remove: (id, user_id) => post('/organization/member_delete', { organization_id: id, user_id }),
  },
};

export function MembersDialog({ kind, id, name, writable, onClose, onChanged }) {
  const k = KINDS[kind];
  const [members, setMembers] = useState(null);
  const [error, setError] = useState(null);
  const [who, setWho] = useState('');
  const [role, setRole] = useState(k.roles[0][0]);
  const [busy, setBusy] = useState(false);
  const reload = () => k.load(id).then((m) => { setMembers(m); setError(null); }, (e) => setError(e.message));
  useEffect(() => { reload(); }, [id]);

  const act = async (fn) => {
    setBusy(true);
    try {
      await fn();
      await reload();
      onChanged && onChanged();
    } catch (e) {
      if (e.status !== 401) setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  const add = (ev) => {
    ev.preventDefault();
    const v = who.trim();
    if (!v) { setError('Enter the email or user id of the person to add.'); return; }
    act(async () => {
      await k.add(id, v.includes('@') ? { user_email: v, role } : { user_id: v, role });
      setWho('');
    });
  };

  return html`<${Modal} title=${`Members of ${name}`} onClose=${onClose} size="lg" testid="members-dialog"
    footer=${html`<button type="button" class="btn primary" onClick=${onClose}>Done</button>`}>
    ${error && html`<${Alert}>${error}<//>`}
    ${writable && html`<form class="toolbar" onSubmit=${add} novalidate>
      <label class="sr-only" for="member-who">Email or user id</label>
      <input id="member-who" placeholder="Email or user id" value=${who} onInput=${(e) => setWho(e.target.value)} autocomplete="off" />
      <label class="sr-only" for="member-role">Role</label>
      <select id="member-role" value=${role} onChange=${(e) => setRole(e.target.value)}>${k.roles.map(([x, l]) => html`<option value=${x}>${l}</option>`)}</select>
      <button type="submit" class="btn" disabled=${busy}><${Icon} name="plus" size="14" />Add member</button>
    </form>`}
    ${!members && !error && html`<${Spinner} />`}
    ${members && html`<div class="table-wrap flat"><table class="table" aria-label="Members">
      <thead><tr><th>Member</th><th>Role</th><th class="num">Spend</th><th class="actions-col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${members.map((m) => html`<tr key=${m.user_id} data-testid="member-row">
        <td><div class="strong trunc">${m.user_email || m.user_id}</div>${m.user_email && html`<div class="tiny muted trunc">${m.user_id}</div>`}</td>
        <td>${writable
          ? html`<select aria-label=${`Role of ${m.user_email || m.user_id}`} value=${m.role} disabled=${busy}
              onChange=${(e) => act(() => k.update(id, m.user_id, e.target.value))}>${k.roles.map(([x, l]) => html`<option value=${x}>${l}</option>`)}</select>`
          : html`<${Badge}>${(k.roles.find(([x]) => x === m.role) || [m.role, m.role])[1]}<//>`}</td>
        <td class="num mono">${money(m.spend)}</td>
        <td class="row-actions">${writable && html`<button type="button" class="btn icon-only ghost sm danger-hover" aria-label=${`Remove ${m.user_email || m.user_id}`} title="Remove"
          disabled=${busy} onClick=${() => act(() => k.remove(id, m.user_id))}><${Icon} name="trash" size="15" /></button>`}</td>
      </tr>`)}</tbody>
    </table>
    ${!members.length && html`<p class="muted empty">No members yet.</p>`}</div>`}
  <//>`;
}
