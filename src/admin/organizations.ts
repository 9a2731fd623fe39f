// /organization/* : organizations (LiteLLM_OrganizationTable), whose limits are a budget row, and their
// members (org_admin, internal_user, internal_user_viewer). Methods as LiteLLM has them (update and
// member_update PATCH, delete and member_delete DELETE with a body), each also taken as POST.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { UniqueViolation } from '../store/db.ts';
import type { OrgMember, OrgRecord } from '../store/organizations.ts';
import { placeholders } from '../store/rows.ts';
import { authorize, isAdmin, scopeOf } from './access.ts';
import { parseBody } from './body.ts';
import { BudgetFields, budgetJson, createBudget, hasBudgetFields, upsertBudget, usd } from './budgets.ts';
import { type Admin, liveSpend } from './context.ts';
import { emailsOf, memberSchema, oneOrMany, resolveMember } from './members.ts';
import { orgJson, orgMemberJson, teamJson, userJson } from './shapes.ts';
import { dropKeyModelRows } from '../store/key-models.ts';

const ORG_ROLES = ['org_admin', 'internal_user', 'internal_user_viewer'] as const;
const Member = memberSchema(ORG_ROLES);
const orgId = z.string({ error: 'is required' }).min(1, 'is required');

const NewBody = z.looseObject({
  organization_alias: z.string({ error: 'is required' }).min(1, 'is required').max(256),
  organization_id: z.string().min(1, 'must not be empty').max(512).nullish(),
  models: z.array(z.string()).nullish(),
  budget_id: z.string().min(1).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  ...BudgetFields,
});
const UpdateBody = z.looseObject({
  organization_id: orgId,
  organization_alias: z.string().min(1, 'must not be empty').max(256).nullish(),
  models: z.array(z.string()).nullish(),
  budget_id: z.string().min(1).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  ...BudgetFields,
});
const DeleteBody = z.looseObject({ organization_ids: z.array(z.string(), { error: 'is required (a list of organization ids)' }).min(1, 'give at least one organization id') });
const InfoQuery = z.object({ organization_id: orgId });
const InfoBody = z.looseObject({ organizations: z.array(z.string(), { error: 'is required' }).min(1, "Specify list of organization id's to query.") });
const ListQuery = z.object({ org_id: z.string().optional(), org_alias: z.string().optional() });
const MemberAdd = z.looseObject({ organization_id: orgId, member: oneOrMany(Member), max_budget_in_organization: usd() });
const MemberRef = z
  .looseObject({ organization_id: orgId, user_id: z.string().min(1).nullish(), user_email: z.string().min(1).nullish() })
  .refine((b) => !!(b.user_id || b.user_email), { message: 'give user_id or user_email', path: ['user_id'] });
const MemberUpdate = z
  .looseObject({
    organization_id: orgId,
    user_id: z.string().min(1).nullish(),
    user_email: z.string().min(1).nullish(),
    role: z.enum(ORG_ROLES, { error: `Invalid role. Must be one of: ${ORG_ROLES.join(', ')}` }).nullish(),
    max_budget_in_organization: usd(),
  })
  .refine((b) => !!(b.user_id || b.user_email), { message: 'give user_id or user_email', path: ['user_id'] });

export function registerOrganizationRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx } = admin;
  const target = (id: string) => ({ orgIds: [id] });

  const find = async (id: string, status: 'not_found' | 'bad_request' = 'not_found'): Promise<OrgRecord> => {
    const o = await admin.orgs.get(id);
    if (!o) throw new GatewayError(status, `Organization not found for organization_id=${id}`, { param: 'organization_id' });
    return o;
  };
  const json = async (o: OrgRecord, withMembers = false) => {
    const budget = o.budget_id ? await admin.budgets.get(o.budget_id) : undefined;
    const out = orgJson(ctx, o, budget);
    if (!withMembers) return out;
    const [members, teams] = await Promise.all([admin.orgs.members(o.organization_id), admin.teams.teamsOfOrganization(o.organization_id)]);
    const budgets = await admin.budgets.getMany(members.flatMap((m) => (m.budget_id ? [m.budget_id] : [])));
    const emails = await emailsOf(admin, members.map((m) => m.user_id));
    const teamMembers = await admin.teams.membersOfTeams(teams.map((t) => t.team_id));
    const teamEmails = await emailsOf(admin, teamMembers.map((m) => m.user_id));
    return {
      ...out,
      members: members.map((m) => orgMemberJson(ctx, m, budgets.find((b) => b.budget_id === m.budget_id), emails.get(m.user_id) ?? null)),
      teams: teams.map((t) => teamJson(ctx, t, teamMembers.filter((m) => m.team_id === t.team_id), teamEmails)),
    };
  };
  const refuse = (what: string): never => {
    throw new GatewayError('admin_only', `Not allowed: ${what}.`);
  };
  const changed = (o: OrgRecord | null, id: string) => admin.changed({ kind: 'org', id, record: o });
  /** PATCH and DELETE as LiteLLM has them, and POST for clients that send every change as one. */
  const route = (methods: ('PATCH' | 'DELETE' | 'POST')[], path: string, handler: (req: FastifyRequest) => Promise<unknown>) => {
    for (const method of methods) app.route({ method, url: path, handler });
  };

  app.post('/organization/new', async (req) => {
    const path = '/organization/new';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(NewBody, req.body);
    if (body.budget_id && hasBudgetFields(body)) {
      throw new GatewayError('bad_request', 'Give either budget_id or budget fields (max_budget, ...), not both.', { param: 'budget_id' });
    }
    if (body.budget_id && !(await admin.budgets.get(body.budget_id))) {
      throw new GatewayError('bad_request', `budget_id: no budget "${body.budget_id}".`, { param: 'budget_id' });
    }
    if (body.organization_id && (await admin.orgs.get(body.organization_id))) {
      throw new GatewayError('bad_request', `Organization id = ${body.organization_id} already exists.`, { param: 'organization_id' });
    }
    // Every organization has a budget row, as in LiteLLM: its limits live there.
    const budget = body.budget_id ? undefined : await createBudget(admin, actor, body);
    const now = new Date().toISOString();
    const org: OrgRecord = {
      organization_id: body.organization_id ?? randomUUID(),
      organization_alias: body.organization_alias,
      budget_id: body.budget_id ?? budget!.budget_id,
      models: body.models ?? [],
      metadata: body.metadata ?? {},
      spend_nanos: 0,
      extra: {},
      created_by: actor.name,
      updated_by: actor.name,
      created_at: now,
      updated_at: now,
    };
    try {
      await admin.orgs.insert(org);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', `Organization id = ${org.organization_id} already exists.`, { param: 'organization_id' });
      throw err;
    }
    changed(org, org.organization_id);
    const out = await json(org);
    await admin.audit(actor, path, 'created', 'org', org.organization_id, null, out);
    return out;
  });

  app.get('/organization/info', liveSpend(admin, async (req) => {
    const path = '/organization/info';
    const actor = await admin.actor(req.headers, path);
    const q = parseBody(InfoQuery, req.query);
    const org = await admin.orgs.get(q.organization_id);
    if (!org) throw new GatewayError('not_found', 'Organization not found', { param: 'organization_id' });
    authorize(actor, path, target(org.organization_id), `organization ${org.organization_id}`);
    return json(org, true);
  }));

  // LiteLLM's older form: several organizations at once, answered as a list.
  app.post('/organization/info', async (req) => {
    const path = '/organization/info';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(InfoBody, req.body);
    const out = [];
    for (const id of body.organizations) {
      const org = await find(id);
      authorize(actor, path, target(id), `organization ${id}`);
      out.push(await json(org));
    }
    return out;
  });

  route(['PATCH', 'POST'], '/organization/update', async (req) => {
    const path = '/organization/update';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(UpdateBody, req.body);
    const current = await find(body.organization_id);
    authorize(actor, path, target(current.organization_id), `organization ${current.organization_id}`);
    const before = await json(current);
    let budgetId = current.budget_id;
    if (body.budget_id) {
      if (!(await admin.budgets.get(body.budget_id))) throw new GatewayError('bad_request', `budget_id: no budget "${body.budget_id}".`, { param: 'budget_id' });
      budgetId = body.budget_id;
    }
    if (hasBudgetFields(body) || Object.keys(BudgetFields).some((k) => (body as Record<string, unknown>)[k] === null)) {
      budgetId = (await upsertBudget(admin, actor, budgetId, body)).budget_id;
    }
    const now = new Date().toISOString();
    const updated = (await admin.orgs.update(current.organization_id, {
      ...(body.organization_alias ? { organization_alias: body.organization_alias } : {}),
      ...(body.models !== undefined ? { models: body.models ?? [] } : {}),
      // LiteLLM merges metadata into what is there.
      ...(body.metadata !== undefined ? { metadata: body.metadata === null ? {} : { ...current.metadata, ...body.metadata } } : {}),
      budget_id: budgetId,
      updated_by: actor.name,
      updated_at: now,
    }))!;
    changed(updated, updated.organization_id);
    const after = await json(updated, true);
    await admin.audit(actor, path, 'updated', 'org', updated.organization_id, before, after);
    return after;
  });

  route(['DELETE', 'POST'], '/organization/delete', async (req) => {
    const path = '/organization/delete';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(DeleteBody, req.body);
    const orgs: OrgRecord[] = [];
    for (const id of body.organization_ids) {
      const o = await admin.orgs.get(id);
      if (!o) throw new GatewayError('not_found', `Organization=${id} not found`, { param: 'organization_ids' });
      authorize(actor, path, target(id), `organization ${id}`);
      orgs.push(o);
    }
    const ids = orgs.map((o) => o.organization_id);
    const teamIds = (await Promise.all(ids.map((id) => admin.teams.teamsOfOrganization(id)))).flat().map((t) => t.team_id);
    const tokens = [...new Set([...(await admin.keys.tokensOf('organization_id', ids)), ...(await admin.keys.tokensOf('team_id', teamIds))])];
    const before = await Promise.all(orgs.map((o) => json(o, true)));
    const list = placeholders(ids.length);
    const teams = placeholders(teamIds.length);
    // The organization's teams (with their members and keys), its own keys and its members, at once.
    await admin.db.batch([
      ...dropKeyModelRows(tokens),
      { sql: `DELETE FROM llmproxy_keys WHERE organization_id IN (${list})`, params: ids },
      ...(teamIds.length
        ? [
            { sql: `DELETE FROM llmproxy_keys WHERE team_id IN (${teams})`, params: teamIds },
            { sql: `DELETE FROM llmproxy_team_members WHERE team_id IN (${teams})`, params: teamIds },
          ]
        : []),
      { sql: `DELETE FROM llmproxy_teams WHERE organization_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_org_members WHERE organization_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_organizations WHERE organization_id IN (${list})`, params: ids },
    ]);
    for (const t of tokens) admin.changed({ kind: 'key', id: t, record: null });
    for (const t of teamIds) admin.changed({ kind: 'team', id: t, record: null });
    for (const [i, o] of orgs.entries()) {
      changed(null, o.organization_id);
      await admin.audit(actor, path, 'deleted', 'org', o.organization_id, before[i]!, null);
    }
    return before;
  });

  app.get('/organization/list', liveSpend(admin, async (req) => {
    const path = '/organization/list';
    const actor = await admin.actor(req.headers, path);
    const q = parseBody(ListQuery, req.query);
    const scope = scopeOf(actor, path);
    const orgs = await admin.orgs.list({ org_id: q.org_id, org_alias: q.org_alias, memberOf: scope.all ? undefined : (actor.userId ?? '') });
    return Promise.all(orgs.map((o) => json(o, true)));
  }));

  app.post('/organization/member_add', async (req) => {
    const path = '/organization/member_add';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(MemberAdd, req.body);
    const org = await find(body.organization_id);
    authorize(actor, path, target(org.organization_id), `organization ${org.organization_id}`);
    const wanted = Array.isArray(body.member) ? body.member : [body.member];
    const users = [];
    const memberships = [];
    for (const m of wanted) {
      const { user } = await resolveMember(admin, actor, path, m);
      if (await admin.orgs.member(org.organization_id, user.user_id)) {
        throw new GatewayError('bad_request', `User ${user.user_id} is already a member of organization ${org.organization_id}.`, { param: 'member' });
      }
      const budget = body.max_budget_in_organization == null ? undefined : await upsertBudget(admin, actor, null, { max_budget: body.max_budget_in_organization });
      const now = new Date().toISOString();
      const member: OrgMember = { organization_id: org.organization_id, user_id: user.user_id, user_role: m.role, budget_id: budget?.budget_id ?? null, spend_nanos: 0, created_at: now, updated_at: now };
      await admin.orgs.addMember(member);
      await admin.audit(actor, path, 'member_added', 'org_member', `${org.organization_id}:${user.user_id}`, null, { ...member });
      users.push(userJson(ctx, user));
      memberships.push(orgMemberJson(ctx, member, budget, user.user_email));
    }
    return { organization_id: org.organization_id, updated_users: users, updated_organization_memberships: memberships };
  });

  const memberOf = async (org: OrgRecord, ref: { user_id?: string | null; user_email?: string | null }) => {
    const user = ref.user_id ? await admin.users.get(ref.user_id) : await admin.users.getByEmail(ref.user_email!);
    const member = user ? await admin.orgs.member(org.organization_id, user.user_id) : undefined;
    if (!user || !member) throw new GatewayError('not_found', `Member not found in organization for user_id=${ref.user_id ?? ref.user_email}`, { param: ref.user_id ? 'user_id' : 'user_email' });
    return { user, member };
  };

  route(['PATCH', 'POST'], '/organization/member_update', async (req) => {
    const path = '/organization/member_update';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(MemberUpdate, req.body);
    const org = await find(body.organization_id, 'bad_request');
    authorize(actor, path, target(org.organization_id), `organization ${org.organization_id}`);
    const { user, member } = await memberOf(org, body);
    if (!isAdmin(actor) && user.user_id === actor.userId) refuse('you may not change your own role or budget in an organization');
    const changes: Partial<OrgMember> = { updated_at: new Date().toISOString() };
    if (body.role) changes.user_role = body.role;
    if (body.max_budget_in_organization !== undefined) changes.budget_id = (await upsertBudget(admin, actor, member.budget_id, { max_budget: body.max_budget_in_organization })).budget_id;
    const updated = (await admin.orgs.updateMember(org.organization_id, user.user_id, changes))!;
    await admin.audit(actor, path, 'member_updated', 'org_member', `${org.organization_id}:${user.user_id}`, { ...member }, { ...updated });
    const budget = updated.budget_id ? await admin.budgets.get(updated.budget_id) : undefined;
    return orgMemberJson(ctx, updated, budget, user.user_email);
  });

  route(['DELETE', 'POST'], '/organization/member_delete', async (req) => {
    const path = '/organization/member_delete';
    const actor = await admin.actor(req.headers, path);
    const body = parseBody(MemberRef, req.body);
    const org = await find(body.organization_id);
    authorize(actor, path, target(org.organization_id), `organization ${org.organization_id}`);
    const { user, member } = await memberOf(org, body);
    await admin.orgs.removeMember(org.organization_id, user.user_id);
    await admin.audit(actor, path, 'member_removed', 'org_member', `${org.organization_id}:${user.user_id}`, { ...member }, null);
    const budget = member.budget_id ? await admin.budgets.get(member.budget_id) : undefined;
    return { ...orgMemberJson(ctx, member, budget, user.user_email), litellm_budget_table: budget ? budgetJson(budget) : null };
  });
}
