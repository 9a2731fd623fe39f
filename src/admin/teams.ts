// /team/* : teams (LiteLLM_TeamTable) and their members (admin or user, with an optional budget each).
// Deleting a team deletes its keys, as LiteLLM does; they stop working at once on every instance.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { nanosToUsd, usdToNanos } from '../metering/money.ts';
import { listAllows } from '../policy/model-access.ts';
import { UniqueViolation } from '../store/db.ts';
import { placeholders } from '../store/rows.ts';
import type { TeamMember, TeamRecord } from '../store/teams.ts';
import type { UserRecord } from '../store/users.ts';
import { memberRef } from '../store/scopes.ts';
import { authorize, grantFor, isAdmin, scopeOf, type Actor, type Target } from './access.ts';
import { parseBody } from './body.ts';
import { duration, limit, modelLimits, modelMaxBudget, upsertBudget, usd } from './budgets.ts';
import { type Admin, liveSpend } from './context.ts';
import { extraChanges, periodChanges } from './changes.ts';
import { keyJson, keyTarget } from './keys.ts';
import { emailsOf, memberSchema, oneOrMany, resolveMember } from './members.ts';
import { teamJson, teamMemberJson, userJson } from './shapes.ts';
import { dropKeyModelRows } from '../store/key-models.ts';

/** Where a team keeps its default member budget row, as LiteLLM does (metadata.team_member_budget_id). */
const MEMBER_BUDGET = 'team_member_budget_id';
const defaultMemberBudget = (t: TeamRecord): string | null => (typeof t.metadata[MEMBER_BUDGET] === 'string' ? (t.metadata[MEMBER_BUDGET] as string) : null);
/** A team's per-model limits live in its metadata too, as in LiteLLM (set top-level, shown there). */
const MODEL_LIMITS = ['model_rpm_limit', 'model_tpm_limit'] as const;

const TeamFields = {
  team_alias: z.string().max(256).nullish(),
  organization_id: z.string().nullish(),
  models: z.array(z.string()).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  tpm_limit: limit(),
  rpm_limit: limit(),
  max_parallel_requests: limit(),
  // Per model group, over all the team's keys.
  model_rpm_limit: modelLimits(),
  model_tpm_limit: modelLimits(),
  max_budget: usd(),
  soft_budget: usd(),
  budget_duration: duration(),
  blocked: z.boolean().nullish(),
  model_max_budget: modelMaxBudget(),
  // Every member's own share unless they have one (max_budget_in_team): a shared budget row.
  team_member_budget: usd(),
  team_member_rpm_limit: limit(),
  team_member_tpm_limit: limit(),
  team_member_budget_duration: duration(),
};
const KNOWN = new Set([...Object.keys(TeamFields), 'team_id', 'members_with_roles', 'admins', 'members']);

const Member = memberSchema(['admin', 'user'] as const);
const teamId = z.string({ error: 'is required' }).min(1, 'is required');

const NewBody = z.looseObject({ ...TeamFields, team_id: z.string().min(1, 'must not be empty').max(512).nullish(), members_with_roles: z.array(Member).nullish() });
const UpdateBody = z.looseObject({ ...TeamFields, team_id: teamId });
const DeleteBody = z.looseObject({ team_ids: z.array(z.string(), { error: 'is required (a list of team ids)' }).min(1, 'give at least one team id') });
const TeamOnly = z.looseObject({ team_id: teamId });
const MemberAdd = z.looseObject({ team_id: teamId, member: oneOrMany(Member), max_budget_in_team: usd() });
const MemberRef = z
  .looseObject({ team_id: teamId, user_id: z.string().min(1).nullish(), user_email: z.string().min(1).nullish() })
  .refine((b) => !!(b.user_id || b.user_email), { message: 'give user_id or user_email', path: ['user_id'] });
const MemberUpdate = z
  .looseObject({
    team_id: teamId,
    user_id: z.string().min(1).nullish(),
    user_email: z.string().min(1).nullish(),
    role: z.enum(['admin', 'user'], { error: 'must be admin or user' }).nullish(),
    max_budget_in_team: usd(),
    tpm_limit: limit(),
    rpm_limit: limit(),
  })
  .refine((b) => !!(b.user_id || b.user_email), { message: 'give user_id or user_email', path: ['user_id'] });
const ModelsBody = z.looseObject({ team_id: teamId, models: z.array(z.string(), { error: 'is required (a list of models)' }).min(1, 'give at least one model') });
const InfoQuery = z.object({ team_id: z.string({ error: 'is required' }).min(1, 'is required') });
const ListQuery = z.object({ user_id: z.string().optional(), organization_id: z.string().optional() });
const ListV2Query = z.object({
  user_id: z.string().optional(),
  organization_id: z.string().optional(),
  team_id: z.string().optional(),
  team_alias: z.string().optional(),
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(10),
  sort_by: z.enum(['team_id', 'team_alias', 'created_at']).optional().catch(undefined),
  sort_order: z.enum(['asc', 'desc']).default('asc').catch('asc'),
});

type Fields = z.infer<z.ZodObject<typeof TeamFields>>;

const nanos = (v: number | null | undefined) => (v === undefined ? undefined : v === null ? null : usdToNanos(v));

function changesFrom(body: Fields & Record<string, unknown>, now: Date, current: TeamRecord | null, timeZone: string): Partial<TeamRecord> {
  const c: Partial<TeamRecord> = {};
  const set = <K extends keyof TeamRecord>(k: K, v: TeamRecord[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  set('team_alias', body.team_alias);
  // LiteLLM: an empty organization_id takes the team out of its organization.
  set('organization_id', body.organization_id === '' ? null : body.organization_id);
  set('models', body.models === null ? [] : body.models);
  set('metadata', metadataFrom(body, current));
  set('tpm_limit', body.tpm_limit);
  set('rpm_limit', body.rpm_limit);
  set('max_parallel_requests', body.max_parallel_requests);
  set('max_budget_nanos', nanos(body.max_budget));
  set('soft_budget_nanos', nanos(body.soft_budget));
  if (body.blocked !== undefined) c.blocked = body.blocked === true;
  if (body.budget_duration !== undefined) Object.assign(c, periodChanges(body.budget_duration, now, timeZone));
  const extra = extraChanges(body, KNOWN, current?.extra);
  if (extra) c.extra = extra;
  return c;
}

/**
 * The metadata an update leaves: the one given, or the current; the default member budget's link and
 * the per-model limits kept unless it names them; model_rpm_limit / model_tpm_limit given top-level
 * set (null: remove) theirs.
 */
function metadataFrom(body: Fields, current: TeamRecord | null): Record<string, unknown> | undefined {
  if (body.metadata === undefined && MODEL_LIMITS.every((f) => body[f] === undefined)) return undefined;
  const m: Record<string, unknown> = { ...(body.metadata === undefined ? (current?.metadata ?? {}) : (body.metadata ?? {})) };
  for (const k of [MEMBER_BUDGET, ...MODEL_LIMITS]) if (current && !(k in m) && k in current.metadata) m[k] = current.metadata[k];
  for (const f of MODEL_LIMITS) {
    if (body[f] === null) delete m[f];
    else if (body[f] !== undefined) m[f] = body[f];
  }
  return m;
}

export const teamTarget = (t: Pick<TeamRecord, 'team_id' | 'organization_id'>): Target => ({ teamIds: [t.team_id], orgIds: [t.organization_id] });

export function registerTeamRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx } = admin;

  const find = async (id: string, status: 'not_found' | 'bad_request' = 'not_found'): Promise<TeamRecord> => {
    const t = await admin.teams.get(id);
    if (!t) throw new GatewayError(status, `Team not found, passed team_id=${id}`, { param: 'team_id' });
    return t;
  };
  const json = async (t: TeamRecord, members?: TeamMember[]) => {
    const ms = members ?? (await admin.teams.members(t.team_id));
    return teamJson(ctx, t, ms, await emailsOf(admin, ms.map((m) => m.user_id)));
  };
  const refuse = (what: string): never => {
    throw new GatewayError('admin_only', `Not allowed: ${what}.`);
  };
  const changed = (t: TeamRecord | null, id: string) => admin.changed({ kind: 'team', id, record: t });
  /** An organization a team is put in must exist, and its models bound the team's. */
  const checkOrganization = async (actor: Actor, route: string, orgId: string | null, models: string[]) => {
    if (orgId === null) {
      if (!isAdmin(actor)) refuse(`${route}: an org admin's teams belong to an organization they administer (organization_id)`);
      return;
    }
    const org = await admin.orgs.get(orgId);
    if (!org) throw new GatewayError('bad_request', `Organization not found for organization_id=${orgId}`, { param: 'organization_id' });
    authorize(actor, route, { orgIds: [orgId] }, `organization ${orgId}`);
    for (const m of models) {
      if (!listAllows(org.models, m, ctx.accessGroups)) {
        throw new GatewayError('bad_request', `models: "${m}" is not one of organization ${orgId}'s models (${org.models.join(', ')}).`, { param: 'models' });
      }
    }
  };
  const addMember = async (actor: Actor, route: string, team: TeamRecord, m: { role: 'admin' | 'user'; user_id?: string | null; user_email?: string | null }, budget: number | null | undefined) => {
    const { user } = await resolveMember(admin, actor, route, m);
    return addUser(actor, route, team, user, m.role, budget);
  };
  const addUser = async (actor: Actor, route: string, team: TeamRecord, user: UserRecord, role: 'admin' | 'user', budget: number | null | undefined) => {
    const now = new Date();
    const budgetId = budget == null ? defaultMemberBudget(team) : (await upsertBudget(admin, actor, null, { max_budget: budget })).budget_id;
    const member: TeamMember = { team_id: team.team_id, user_id: user.user_id, role, budget_id: budgetId, spend_nanos: 0, created_at: now.toISOString(), updated_at: now.toISOString() };
    await admin.teams.addMember(member);
    admin.changed({ kind: 'member', id: memberRef(team.team_id, user.user_id), record: member });
    await admin.audit(actor, route, 'member_added', 'team_member', `${team.team_id}:${user.user_id}`, null, { ...member });
    return { user, member };
  };

  /**
   * team_member_budget, team_member_rpm_limit, team_member_tpm_limit, team_member_budget_duration:
   * the team's default member budget row, made or changed. Members with no budget of their own are
   * put on it (each spends up to it on their own); so is every member added later without one.
   */
  const setMemberDefaults = async (actor: Actor, team: TeamRecord, body: Fields): Promise<TeamRecord> => {
    const fields = { max_budget: body.team_member_budget, rpm_limit: body.team_member_rpm_limit, tpm_limit: body.team_member_tpm_limit, budget_duration: body.team_member_budget_duration };
    if (Object.values(fields).every((v) => v === undefined)) return team;
    const current = defaultMemberBudget(team);
    const b = await upsertBudget(admin, actor, current, fields);
    if (b.budget_id === current) return team;
    const now = new Date().toISOString();
    const updated = (await admin.teams.update(team.team_id, { metadata: { ...team.metadata, [MEMBER_BUDGET]: b.budget_id }, updated_at: now }))!;
    changed(updated, updated.team_id);
    for (const m of await admin.teams.members(team.team_id)) {
      if (m.budget_id !== null) continue;
      const on = (await admin.teams.updateMember(team.team_id, m.user_id, { budget_id: b.budget_id, updated_at: now }))!;
      admin.changed({ kind: 'member', id: memberRef(team.team_id, m.user_id), record: on });
    }
    return updated;
  };

  app.post('/team/new', async (req) => {
    const route = '/team/new';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(NewBody, req.body);
    await checkOrganization(actor, route, body.organization_id || null, body.models ?? []);
    if (body.team_id && (await admin.teams.get(body.team_id))) {
      throw new GatewayError('bad_request', `Team id = ${body.team_id} already exists. Please use a different team id.`, { param: 'team_id' });
    }
    const now = new Date();
    let team: TeamRecord = {
      team_id: body.team_id ?? randomUUID(), team_alias: null, organization_id: null, models: [], metadata: {}, spend_nanos: 0,
      max_budget_nanos: null, soft_budget_nanos: null, budget_duration: null, budget_reset_at: null, budget_period_start: null,
      tpm_limit: null, rpm_limit: null, max_parallel_requests: null, model_max_budget: null, blocked: false, extra: {},
      created_by: actor.name, updated_by: actor.name, created_at: now.toISOString(), updated_at: now.toISOString(),
      ...changesFrom(body, now, null, admin.ctx.config.timezone),
    };
    try {
      await admin.teams.insert(team);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', `Team id = ${team.team_id} already exists. Please use a different team id.`, { param: 'team_id' });
      throw err;
    }
    changed(team, team.team_id);
    team = await setMemberDefaults(actor, team, body);
    await admin.audit(actor, route, 'created', 'team', team.team_id, null, await json(team, []));
    const members = [...(body.members_with_roles ?? [])];
    // The caller becomes the team's admin, as in LiteLLM (the master key has no user to add).
    if (actor.userId && !members.some((m) => m.user_id === actor.userId)) members.push({ role: 'admin', user_id: actor.userId, user_email: null });
    const seen = new Set<string>();
    for (const m of members) {
      const { user } = await resolveMember(admin, actor, route, m);
      if (seen.has(user.user_id)) continue;
      seen.add(user.user_id);
      await addUser(actor, route, team, user, m.role, null);
    }
    return json(team);
  });

  app.get('/team/info', liveSpend(admin, async (req) => {
    const route = '/team/info';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(InfoQuery, req.query);
    const team = await admin.teams.get(q.team_id);
    if (!team) throw new GatewayError('not_found', `Team not found, passed team id: ${q.team_id}.`, { param: 'team_id' });
    authorize(actor, route, teamTarget(team), `team ${team.team_id}`);
    const [members, keys] = await Promise.all([admin.teams.members(team.team_id), admin.keys.list({ page: 1, size: 1000, team_id: team.team_id, sort_order: 'desc' })]);
    const budgets = await admin.budgets.getMany(members.flatMap((m) => (m.budget_id ? [m.budget_id] : [])));
    // A plain member sees the team, and of its keys only their own.
    const visible = keys.keys.filter((k) => grantFor(actor, '/key/info', keyTarget(k, team)) !== null);
    return {
      team_id: team.team_id,
      team_info: await json(team, members),
      keys: visible.map((k) => keyJson(k, ctx.limiter.pending(k.token))),
      team_memberships: members.map((m) => teamMemberJson(ctx, m, budgets.find((b) => b.budget_id === m.budget_id))),
    };
  }));

  app.post('/team/update', async (req) => {
    const route = '/team/update';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(UpdateBody, req.body);
    const current = await find(body.team_id);
    authorize(actor, route, teamTarget(current), `team ${current.team_id}`);
    const now = new Date();
    const changes = { ...changesFrom(body, now, current, admin.ctx.config.timezone), updated_at: now.toISOString(), updated_by: actor.name };
    const next = { ...current, ...changes };
    if (body.organization_id !== undefined || body.models !== undefined) await checkOrganization(actor, route, next.organization_id, next.models);
    const updated = await setMemberDefaults(actor, (await admin.teams.update(current.team_id, changes))!, body);
    changed(updated, updated.team_id);
    const after = await json(updated);
    await admin.audit(actor, route, 'updated', 'team', updated.team_id, await json(current), after);
    if (current.organization_id !== updated.organization_id) {
      // The team's keys follow it into (or out of) the organization.
      for (const t of await admin.keys.tokensOf('team_id', [updated.team_id])) {
        const k = await admin.keys.update(t, { organization_id: updated.organization_id });
        admin.changed({ kind: 'key', id: t, record: k ?? null });
      }
    }
    return { team_id: updated.team_id, data: after };
  });

  app.post('/team/delete', async (req) => {
    const route = '/team/delete';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(DeleteBody, req.body);
    const teams: TeamRecord[] = [];
    for (const id of body.team_ids) {
      const t = await find(id);
      authorize(actor, route, teamTarget(t), `team ${id}`);
      teams.push(t);
    }
    const ids = teams.map((t) => t.team_id);
    const tokens = await admin.keys.tokensOf('team_id', ids);
    const before = await Promise.all(teams.map((t) => json(t)));
    const list = placeholders(ids.length);
    // The team, its members and its keys, in one transaction (as LiteLLM, the keys go with the team).
    await admin.db.batch([
      ...dropKeyModelRows(tokens),
      { sql: `DELETE FROM llmproxy_keys WHERE team_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_team_members WHERE team_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_teams WHERE team_id IN (${list})`, params: ids },
    ]);
    for (const t of tokens) admin.changed({ kind: 'key', id: t, record: null });
    for (const [i, t] of teams.entries()) {
      changed(null, t.team_id);
      await admin.audit(actor, route, 'deleted', 'team', t.team_id, before[i]!, null);
    }
    return { deleted_teams: ids, deleted_keys: tokens.length };
  });

  const listFor = async (actor: Actor, route: string, q: { user_id?: string; organization_id?: string; team_id?: string; team_alias?: string; page: number; page_size: number; sort_by?: 'team_id' | 'team_alias' | 'created_at'; sort_order: 'asc' | 'desc' }) => {
    const scope = scopeOf(actor, route);
    const orgFilter = q.organization_id === 'default_organization' ? null : q.organization_id;
    if (!scope.all && q.user_id !== undefined && q.user_id !== actor.userId) {
      throw new GatewayError('admin_only', `Not allowed: only admins may list other users' teams (user_id=${q.user_id}).`);
    }
    const { teams, total } = await admin.teams.list({ ...q, organization_id: orgFilter });
    // A caller who may not see everything sees their teams and their organizations' teams.
    const visible = scope.all ? teams : teams.filter((t) => scope.teams.includes(t.team_id) || (t.organization_id !== null && scope.orgs.includes(t.organization_id)));
    return { teams: visible, total: scope.all ? total : visible.length };
  };

  app.get('/team/list', liveSpend(admin, async (req) => {
    const route = '/team/list';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(ListQuery, req.query);
    const { teams } = await listFor(actor, route, { ...q, page: 1, page_size: 10_000, sort_order: 'asc' });
    const members = await admin.teams.membersOfTeams(teams.map((t) => t.team_id));
    const emails = await emailsOf(admin, members.map((m) => m.user_id));
    return teams.map((t) => {
      const ms = members.filter((m) => m.team_id === t.team_id);
      return { ...teamJson(ctx, t, ms, emails), team_memberships: ms.filter((m) => !q.user_id || m.user_id === q.user_id).map((m) => teamMemberJson(ctx, m, undefined)) };
    });
  }));

  app.get('/v2/team/list', liveSpend(admin, async (req) => {
    const route = '/team/list';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(ListV2Query, req.query);
    const scope = scopeOf(actor, route);
    // Paged in the database when everything may be seen; else within the caller's (few) teams.
    const { teams: all, total } = scope.all
      ? await admin.teams.list(q)
      : await listFor(actor, route, { ...q, page: 1, page_size: 10_000 });
    const teams = scope.all ? all : all.slice((q.page - 1) * q.page_size, q.page * q.page_size);
    const ids = teams.map((t) => t.team_id);
    const [members, keyCounts] = await Promise.all([admin.teams.membersOfTeams(ids), admin.keys.countBy('team_id', ids)]);
    const emails = await emailsOf(admin, members.map((m) => m.user_id));
    return {
      teams: teams.map((t) => {
        const ms = members.filter((m) => m.team_id === t.team_id);
        return { ...teamJson(ctx, t, ms, emails), members_count: ms.length, keys_count: keyCounts.get(t.team_id) ?? 0 };
      }),
      total,
      page: q.page,
      page_size: q.page_size,
      total_pages: Math.ceil(total / q.page_size),
    };
  }));

  app.post('/team/member_add', async (req) => {
    const route = '/team/member_add';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(MemberAdd, req.body);
    const team = await admin.teams.get(body.team_id);
    if (!team) throw new GatewayError('not_found', `Team not found for team_id=${body.team_id}`, { param: 'team_id' });
    authorize(actor, route, teamTarget(team), `team ${team.team_id}`);
    const wanted = Array.isArray(body.member) ? body.member : [body.member];
    const existing = await admin.teams.members(team.team_id);
    const emails = await emailsOf(admin, existing.map((m) => m.user_id));
    const isDuplicate = (m: { user_id?: string | null; user_email?: string | null }) =>
      existing.some((e) => (m.user_id && e.user_id === m.user_id) || (m.user_email && emails.get(e.user_id)?.toLowerCase() === m.user_email.toLowerCase()));
    const fresh = wanted.filter((m) => !isDuplicate(m));
    if (fresh.length === 0) {
      const m = wanted[0]!;
      throw new GatewayError('bad_request', wanted.length === 1 ? `User already in team. Member: user_id=${m.user_id ?? null}, user_email=${m.user_email ?? null}.` : 'All users are already in team.', {
        param: 'member',
        type: 'team_member_already_in_team',
      });
    }
    const users = [];
    const memberships = [];
    for (const m of fresh) {
      const { user, member } = await addMember(actor, route, team, m, body.max_budget_in_team);
      users.push(userJson(ctx, user, [team.team_id]));
      const budget = member.budget_id ? await admin.budgets.get(member.budget_id) : undefined;
      memberships.push(teamMemberJson(ctx, member, budget));
    }
    return { ...(await json(team)), updated_users: users, updated_team_memberships: memberships };
  });

  const memberOf = async (team: TeamRecord, ref: { user_id?: string | null; user_email?: string | null }) => {
    const user = ref.user_id ? await admin.users.get(ref.user_id) : await admin.users.getByEmail(ref.user_email!);
    const member = user ? await admin.teams.member(team.team_id, user.user_id) : undefined;
    if (!user || !member) throw new GatewayError('bad_request', 'User not found in team', { param: ref.user_id ? 'user_id' : 'user_email' });
    return { user, member };
  };

  app.post('/team/member_delete', async (req) => {
    const route = '/team/member_delete';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(MemberRef, req.body);
    const team = await admin.teams.get(body.team_id);
    if (!team) throw new GatewayError('bad_request', `Team id=${body.team_id} does not exist in db`, { param: 'team_id' });
    authorize(actor, route, teamTarget(team), `team ${team.team_id}`);
    const { user, member } = await memberOf(team, body);
    await admin.teams.removeMember(team.team_id, user.user_id);
    admin.changed({ kind: 'member', id: memberRef(team.team_id, user.user_id), record: null });
    await admin.audit(actor, route, 'member_removed', 'team_member', `${team.team_id}:${user.user_id}`, { ...member }, null);
    return json(team);
  });

  app.post('/team/member_update', async (req) => {
    const route = '/team/member_update';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(MemberUpdate, req.body);
    const team = await admin.teams.get(body.team_id);
    if (!team) throw new GatewayError('bad_request', `Team id=${body.team_id} does not exist in db`, { param: 'team_id' });
    authorize(actor, route, teamTarget(team), `team ${team.team_id}`);
    const { user, member } = await memberOf(team, body);
    // A team admin does not raise their own role or share of the budget.
    if (!isAdmin(actor) && user.user_id === actor.userId && grantFor(actor, route, { orgIds: [team.organization_id] }) === null) {
      refuse('you may not change your own role, budget or limits in a team');
    }
    const changes: Partial<TeamMember> = { updated_at: new Date().toISOString() };
    if (body.role) changes.role = body.role;
    if (body.max_budget_in_team !== undefined || body.tpm_limit !== undefined || body.rpm_limit !== undefined) {
      // A member on the team's default row gets one of their own, from it: the others keep the default.
      const shared = member.budget_id !== null && member.budget_id === defaultMemberBudget(team) ? await admin.budgets.get(member.budget_id) : undefined;
      const b = shared
        ? await upsertBudget(admin, actor, null, {
            max_budget: body.max_budget_in_team !== undefined ? body.max_budget_in_team : shared.max_budget_nanos === null ? null : nanosToUsd(shared.max_budget_nanos),
            tpm_limit: body.tpm_limit !== undefined ? body.tpm_limit : shared.tpm_limit,
            rpm_limit: body.rpm_limit !== undefined ? body.rpm_limit : shared.rpm_limit,
            budget_duration: shared.budget_duration,
          })
        : await upsertBudget(admin, actor, member.budget_id, { max_budget: body.max_budget_in_team, tpm_limit: body.tpm_limit, rpm_limit: body.rpm_limit });
      changes.budget_id = b.budget_id;
    }
    const updated = (await admin.teams.updateMember(team.team_id, user.user_id, changes))!;
    admin.changed({ kind: 'member', id: memberRef(team.team_id, user.user_id), record: updated });
    await admin.audit(actor, route, 'member_updated', 'team_member', `${team.team_id}:${user.user_id}`, { ...member }, { ...updated });
    const budget = updated.budget_id ? await admin.budgets.get(updated.budget_id) : undefined;
    return {
      team_id: team.team_id,
      user_id: user.user_id,
      user_email: user.user_email,
      role: updated.role,
      max_budget_in_team: budget?.max_budget_nanos == null ? null : nanosToUsd(budget.max_budget_nanos),
      tpm_limit: budget?.tpm_limit ?? null,
      rpm_limit: budget?.rpm_limit ?? null,
    };
  });

  for (const [route, blocked] of [['/team/block', true], ['/team/unblock', false]] as const) {
    app.post(route, async (req) => {
      const actor = await admin.actor(req.headers, route);
      const body = parseBody(TeamOnly, req.body);
      const current = await find(body.team_id);
      authorize(actor, route, teamTarget(current), `team ${current.team_id}`);
      const updated = (await admin.teams.update(current.team_id, { blocked, updated_at: new Date().toISOString(), updated_by: actor.name }))!;
      changed(updated, updated.team_id);
      const after = await json(updated);
      await admin.audit(actor, route, blocked ? 'blocked' : 'unblocked', 'team', updated.team_id, { blocked: current.blocked }, { blocked });
      return after;
    });
  }

  for (const [route, add] of [['/team/model/add', true], ['/team/model/delete', false]] as const) {
    app.post(route, async (req) => {
      const actor = await admin.actor(req.headers, route);
      const body = parseBody(ModelsBody, req.body);
      const current = await find(body.team_id);
      authorize(actor, route, teamTarget(current), `team ${current.team_id}`);
      let models: string[];
      if (add) {
        // An empty list means every model: adding to it starts from "every model" (as LiteLLM does).
        models = [...new Set([...(current.models.length ? current.models : ['all-proxy-models']), ...body.models])];
        if (current.organization_id) await checkOrganization(actor, route, current.organization_id, body.models);
      } else {
        models = current.models.filter((m) => !body.models.includes(m));
        // An empty list would mean every model: refused rather than widening the team.
        if (models.length === 0 && current.models.length > 0) {
          throw new GatewayError('bad_request', 'models: removing every model would give the team every model (an empty list means all); keep at least one.', { param: 'models' });
        }
      }
      const updated = (await admin.teams.update(current.team_id, { models, updated_at: new Date().toISOString(), updated_by: actor.name }))!;
      changed(updated, updated.team_id);
      await admin.audit(actor, route, 'updated', 'team', updated.team_id, { models: current.models }, { models });
      return json(updated);
    });
  }
}
