// /user/* : internal users (LiteLLM_UserTable). /user/new makes a key for the user by default and
// answers with it; /user/info shows the user's keys and teams with their spend. Users change their own
// alias, email, password and metadata only; their role, budget, limits and models are an admin's.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { generateKey, hashKey, keyName } from '../auth/keys.ts';
import { hashPassword } from '../auth/passwords.ts';
import { GatewayError } from '../http/errors.ts';
import { usdToNanos } from '../metering/money.ts';
import { UniqueViolation } from '../store/db.ts';
import type { KeyRecord } from '../store/keys.ts';
import { placeholders } from '../store/rows.ts';
import type { BudgetRecord } from '../store/budgets.ts';
import type { UserRecord } from '../store/users.ts';
import type { TeamMember } from '../store/teams.ts';
import { memberRef } from '../store/scopes.ts';
import { authorize, grantFor, isAdmin, scopeOf, USER_ROLES, type Actor, type Target } from './access.ts';
import { parseBody } from './body.ts';
import { duration, limit, modelMaxBudget, usd } from './budgets.ts';
import { type Admin, liveSpend } from './context.ts';
import { addDuration } from './durations.ts';
import { extraChanges, periodChanges } from './changes.ts';
import { keyJson, keyTarget } from './keys.ts';
import { newUser } from './members.ts';
import { teamJson, userJson } from './shapes.ts';
import { dropKeyModelRows } from '../store/key-models.ts';

const role = z.enum(USER_ROLES, { error: `must be one of ${USER_ROLES.join(', ')}` });
const password = z.string().min(8, 'must be 8 to 128 characters').max(128, 'must be 8 to 128 characters');

const UserFields = {
  user_email: z.string().min(3, 'must be an email address').max(320).nullish(),
  user_alias: z.string().max(256).nullish(),
  user_role: role.nullish(),
  models: z.array(z.string()).nullish(),
  max_budget: usd(),
  soft_budget: usd(),
  budget_duration: duration(),
  tpm_limit: limit(),
  rpm_limit: limit(),
  max_parallel_requests: limit(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  model_max_budget: modelMaxBudget(),
  password: password.nullish(),
};
/** Fields a user may change on themselves. */
const SELF_FIELDS = new Set(['user_id', 'user_email', 'user_alias', 'password', 'metadata']);
const KNOWN = new Set([...Object.keys(UserFields), 'user_id', 'teams', 'organizations', 'team_id', 'auto_create_key', 'send_invite_email', 'key_alias', 'duration', 'spend', 'user_ids']);

const TeamRef = z.union([
  z.string().min(1, 'must not be empty'),
  z.looseObject({
    team_id: z.string({ error: 'is required' }).min(1, 'is required'),
    max_budget_in_team: usd(),
    user_role: z.enum(['admin', 'user']).default('user'),
  }),
]);

const NewBody = z.looseObject({
  ...UserFields,
  user_id: z.string().min(1, 'must not be empty').max(512).nullish(),
  teams: z.array(TeamRef).nullish(),
  organizations: z.array(z.string().min(1)).nullish(),
  team_id: z.string().min(1).nullish(),
  auto_create_key: z.boolean().default(true),
  send_invite_email: z.boolean().nullish(),
  key_alias: z.string().min(1).max(256).nullish(),
  duration: duration(),
});
const UpdateBody = z
  .looseObject({ ...UserFields, user_id: z.string().min(1).nullish(), spend: usd() })
  .refine((b) => !!(b.user_id || b.user_email), { message: 'give user_id or user_email', path: ['user_id'] });
const DeleteBody = z.looseObject({ user_ids: z.array(z.string(), { error: 'is required (a list of user ids)' }).min(1, 'give at least one user id') });
const InfoQuery = z.object({ user_id: z.string().min(1).optional() });
const csv = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .optional();
const ListQuery = z.object({
  role: z.string().optional(),
  user_ids: csv,
  user_email: z.string().optional(),
  team: z.string().optional(),
  organization_ids: csv,
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(25),
  sort_by: z.enum(['user_id', 'user_email', 'created_at', 'spend', 'user_alias', 'user_role'], { error: 'must be one of user_id, user_email, created_at, spend, user_alias, user_role' }).optional(),
  sort_order: z.enum(['asc', 'desc'], { error: "must be 'asc' or 'desc'" }).default('asc'),
});

type Fields = z.infer<z.ZodObject<typeof UserFields>>;

const nanos = (v: number | null | undefined) => (v === undefined ? undefined : v === null ? null : usdToNanos(v));

async function changesFrom(body: Fields & Record<string, unknown>, now: Date, current: UserRecord | null, timeZone: string): Promise<Partial<UserRecord>> {
  const c: Partial<UserRecord> = {};
  const set = <K extends keyof UserRecord>(k: K, v: UserRecord[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  set('user_email', body.user_email);
  set('user_alias', body.user_alias);
  if (body.user_role) c.user_role = body.user_role;
  set('models', body.models === null ? [] : body.models);
  set('metadata', body.metadata === null ? {} : body.metadata);
  set('max_budget_nanos', nanos(body.max_budget));
  set('soft_budget_nanos', nanos(body.soft_budget));
  set('tpm_limit', body.tpm_limit);
  set('rpm_limit', body.rpm_limit);
  set('max_parallel_requests', body.max_parallel_requests);
  if (body.budget_duration !== undefined) Object.assign(c, periodChanges(body.budget_duration, now, timeZone));
  if (body.password !== undefined) c.password_hash = body.password === null ? null : await hashPassword(body.password);
  const extra = extraChanges(body, KNOWN, current?.extra);
  if (extra) c.extra = extra;
  return c;
}

/** The user's record as the audit log keeps it: without the password hash. */
function auditJson(u: UserRecord): Record<string, unknown> {
  const { password_hash, ...rest } = u;
  return { ...rest, has_password: password_hash !== null };
}

const ADMIN_ROLES = new Set(['proxy_admin', 'proxy_admin_viewer', 'org_admin']);

export function registerUserRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx } = admin;

  const find = async (id: string, param = 'user_id'): Promise<UserRecord> => {
    const u = await admin.users.get(id);
    if (!u) throw new GatewayError('not_found', `User ${id} not found.`, { param });
    return u;
  };
  /** A user's teams and organizations, as the permission table checks them. */
  const targetOf = async (u: UserRecord): Promise<Target & { teamIds: string[]; orgIds: string[] }> => {
    const [teams, orgs] = await Promise.all([admin.teams.memberships(u.user_id), admin.orgs.memberships(u.user_id)]);
    return { userId: u.user_id, teamIds: teams.map((m) => m.team_id), orgIds: orgs.map((m) => m.organization_id) };
  };
  const refuse = (what: string): never => {
    throw new GatewayError('admin_only', `Not allowed: ${what}.`);
  };
  /** Roles only a proxy admin hands out. */
  const checkRole = (actor: Actor, r: string | null | undefined) => {
    if (r && ADMIN_ROLES.has(r) && !isAdmin(actor)) {
      refuse(`only proxy admins can create administrative users (proxy_admin, proxy_admin_viewer, org_admin); you asked for ${r}, and your role is ${actor.role}`);
    }
  };

  app.post('/user/new', async (req) => {
    const route = '/user/new';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(NewBody, req.body);
    checkRole(actor, body.user_role);
    const teamRefs = [...(body.teams ?? []), ...(body.team_id ? [body.team_id] : [])].map((t) =>
      typeof t === 'string' ? { team_id: t, user_role: 'user' as const, max_budget_in_team: null } : t,
    );
    const teams = await admin.teams.getMany(teamRefs.map((t) => t.team_id));
    for (const [i, t] of teamRefs.entries()) {
      if (!teams.some((x) => x.team_id === t.team_id)) throw new GatewayError('bad_request', `teams[${i}]: no team "${t.team_id}".`, { param: `teams[${i}]` });
    }
    const orgIds = body.organizations ?? [];
    for (const [i, o] of orgIds.entries()) {
      if (!(await admin.orgs.get(o))) throw new GatewayError('bad_request', `organizations[${i}]: no organization "${o}".`, { param: `organizations[${i}]` });
    }
    if (!isAdmin(actor)) {
      // An org admin makes users into the organizations they administer, and their teams.
      const orgsOfTeams = teams.map((t) => t.organization_id);
      if (orgIds.length === 0 && teams.length === 0) refuse(`${route}: an org admin must name organizations (or teams) they administer`);
      for (const o of [...orgIds, ...orgsOfTeams]) if (!o || !actor.orgAdmin.has(o)) refuse(`${route}: you do not administer organization ${o ?? '(none)'}`);
    }
    if (body.user_id && (await admin.users.get(body.user_id))) {
      throw new GatewayError('already_exists', `User with id ${body.user_id} already exists.`, { param: 'user_id' });
    }
    if (body.user_email) {
      const other = await admin.users.getByEmail(body.user_email);
      if (other) throw new GatewayError('already_exists', `User with email ${other.user_email} already exists.`, { param: 'user_email' });
    }
    const now = new Date();
    const user: UserRecord = { ...newUser(actor, body.user_id ?? randomUUID(), null), ...(await changesFrom(body, now, null, admin.ctx.config.timezone)) };
    try {
      await admin.users.insert(user);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('already_exists', 'A user with this user_id or user_email already exists.', { param: 'user_id' });
      throw err;
    }
    admin.changed({ kind: 'user', id: user.user_id, record: user });
    await admin.audit(actor, route, 'created', 'user', user.user_id, null, auditJson(user));
    const stamp = now.toISOString();
    for (const t of teamRefs) {
      let budgetId: string | null = null;
      if (t.max_budget_in_team != null) {
        budgetId = randomUUID();
        const budget: BudgetRecord = {
          budget_id: budgetId, max_budget_nanos: usdToNanos(t.max_budget_in_team), soft_budget_nanos: null, max_parallel_requests: null, tpm_limit: null,
          rpm_limit: null, model_max_budget: null, budget_duration: null, budget_reset_at: null, budget_period_start: null, created_by: actor.name, updated_by: actor.name,
          created_at: stamp, updated_at: stamp,
        };
        await admin.budgets.insert(budget);
        admin.changed({ kind: 'budget', id: budgetId, record: budget });
      }
      const member: TeamMember = { team_id: t.team_id, user_id: user.user_id, role: t.user_role, budget_id: budgetId, spend_nanos: 0, created_at: stamp, updated_at: stamp };
      await admin.teams.addMember(member);
      admin.changed({ kind: 'member', id: memberRef(t.team_id, user.user_id), record: member });
      await admin.audit(actor, route, 'member_added', 'team_member', `${t.team_id}:${user.user_id}`, null, { team_id: t.team_id, user_id: user.user_id, role: t.user_role });
    }
    for (const o of orgIds) {
      await admin.orgs.addMember({ organization_id: o, user_id: user.user_id, user_role: 'internal_user', budget_id: null, spend_nanos: 0, created_at: stamp, updated_at: stamp });
      await admin.audit(actor, route, 'member_added', 'org_member', `${o}:${user.user_id}`, null, { organization_id: o, user_id: user.user_id, user_role: 'internal_user' });
    }
    let key: KeyRecord | null = null;
    let raw = '';
    if (body.auto_create_key) {
      raw = generateKey();
      key = {
        token: hashKey(raw), key_name: keyName(raw), key_alias: body.key_alias ?? null, models: [], aliases: {}, metadata: {}, tags: null,
        user_id: user.user_id, team_id: null, organization_id: null, budget_id: null, spend_nanos: 0, max_budget_nanos: null,
        soft_budget_nanos: null, budget_duration: null, budget_reset_at: null, budget_period_start: null,
        expires: body.duration ? addDuration(now, body.duration).toISOString() : null, tpm_limit: null, rpm_limit: null,
        max_parallel_requests: null, model_rpm_limit: null, model_tpm_limit: null, model_max_budget: null, blocked: false, key_type: null, allowed_routes: null,
        extra: {}, created_by: actor.name, updated_by: actor.name, created_at: stamp, updated_at: stamp,
      };
      try {
        await admin.keys.insert(key);
      } catch (err) {
        if (err instanceof UniqueViolation) throw new GatewayError('bad_request', `Key alias "${body.key_alias}" is already in use.`, { param: 'key_alias' });
        throw err;
      }
      admin.changed({ kind: 'key', id: key.token, record: key });
      await admin.audit(actor, route, 'created', 'key', key.token, null, keyJson(key));
    }
    // LiteLLM answers with the key's fields and the user's over them, the raw key in `key`.
    return {
      ...(key ? keyJson(key) : {}),
      ...userJson(ctx, user, teamRefs.map((t) => t.team_id)),
      key: raw,
      key_name: key?.key_name ?? null,
      key_alias: key?.key_alias ?? null,
      expires: key?.expires ?? null,
      token: null,
      token_id: null,
      duration: body.duration ?? null,
    };
  });

  app.get('/user/info', liveSpend(admin, async (req) => {
    const route = '/user/info';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(InfoQuery, req.query);
    const id = q.user_id ?? actor.userId;
    if (!id) throw new GatewayError('bad_request', 'user_id: is required (the master key and keys of no user have no user of their own).', { param: 'user_id' });
    const user = await find(id);
    const target = await targetOf(user);
    authorize(actor, route, target, `user ${id}`);
    const [keys, teams] = await Promise.all([
      admin.keys.list({ page: 1, size: 1000, user_id: id, sort_order: 'desc' }),
      admin.teams.getMany(target.teamIds),
    ]);
    // What the caller may see of them: a team admin sees the user's keys of their team only.
    const visibleKeys = keys.keys.filter((k) => grantFor(actor, '/key/info', keyTarget(k, teams.find((t) => t.team_id === k.team_id))) !== null);
    const visibleTeams = teams.filter((t) => grantFor(actor, '/team/info', { teamIds: [t.team_id], orgIds: [t.organization_id] }) !== null);
    const members = await admin.teams.membersOfTeams(visibleTeams.map((t) => t.team_id));
    const emails = new Map((await admin.users.getMany([...new Set(members.map((m) => m.user_id))])).map((u) => [u.user_id, u.user_email]));
    const aliases = new Map(teams.map((t) => [t.team_id, t.team_alias]));
    return {
      user_id: id,
      user_info: userJson(ctx, user, target.teamIds),
      keys: visibleKeys.map((k) => ({ ...keyJson(k, ctx.limiter.pending(k.token)), team_alias: k.team_id ? (aliases.get(k.team_id) ?? null) : null })),
      teams: visibleTeams.map((t) => teamJson(ctx, t, members.filter((m) => m.team_id === t.team_id), emails)),
    };
  }));

  app.post('/user/update', async (req) => {
    const route = '/user/update';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(UpdateBody, req.body);
    const current = body.user_id ? await find(body.user_id) : await admin.users.getByEmail(body.user_email!);
    if (!current) throw new GatewayError('not_found', `User with email ${body.user_email} not found.`, { param: 'user_email' });
    const target = await targetOf(current);
    const grant = grantFor(actor, route, target);
    if (!grant) authorize(actor, route, target, `user ${current.user_id}`);
    if (!isAdmin(actor)) {
      if (grant === 'own' || current.user_id === actor.userId) {
        for (const [k, v] of Object.entries(body)) {
          if (v !== undefined && !SELF_FIELDS.has(k)) refuse(`you may not change your own ${k}: ask an admin`);
        }
      } else checkRole(actor, body.user_role);
      if (body.spend !== undefined) refuse('only a proxy admin may set spend');
    }
    if (body.user_email && body.user_email.toLowerCase() !== (current.user_email ?? '').toLowerCase()) {
      const other = await admin.users.getByEmail(body.user_email);
      if (other && other.user_id !== current.user_id) throw new GatewayError('already_exists', `User with email ${other.user_email} already exists.`, { param: 'user_email' });
    }
    const now = new Date();
    const changes = { ...(await changesFrom(body, now, current, admin.ctx.config.timezone)), updated_at: now.toISOString(), updated_by: actor.name };
    if (body.spend != null) {
      // Spend set by hand counts from now: calls started before are not added to it, and the live
      // counters (this instance's, and Redis's: a new period start is a new counter) start from it.
      changes.spend_nanos = usdToNanos(body.spend);
      changes.budget_period_start = now.toISOString();
      admin.ctx.limiter.resetSpend(`user:${current.user_id}`);
    }
    const updated = (await admin.users.update(current.user_id, changes))!;
    admin.changed({ kind: 'user', id: updated.user_id, record: updated });
    await admin.audit(actor, route, 'updated', 'user', updated.user_id, auditJson(current), auditJson(updated));
    return { user_id: updated.user_id, data: userJson(ctx, updated, target.teamIds) };
  });

  app.post('/user/delete', async (req) => {
    const route = '/user/delete';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(DeleteBody, req.body);
    const users: UserRecord[] = [];
    // All are checked before any is deleted.
    for (const id of body.user_ids) {
      const u = await admin.users.get(id);
      if (!u) throw new GatewayError('not_found', `User not found, passed user_id=${id}`, { param: 'user_ids' });
      authorize(actor, route, await targetOf(u), `user ${id}`);
      if (u.user_id === actor.userId) refuse('you may not delete yourself');
      users.push(u);
    }
    const ids = users.map((u) => u.user_id);
    const tokens = await admin.keys.tokensOf('user_id', ids);
    const list = placeholders(ids.length);
    // The user's keys, memberships and dashboard sessions go with the user, in one transaction.
    await admin.db.batch([
      ...dropKeyModelRows(tokens),
      { sql: `DELETE FROM llmproxy_keys WHERE user_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_team_members WHERE user_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_org_members WHERE user_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_ui_sessions WHERE user_id IN (${list})`, params: ids },
      { sql: `DELETE FROM llmproxy_users WHERE user_id IN (${list})`, params: ids },
    ]);
    for (const t of tokens) admin.changed({ kind: 'key', id: t, record: null });
    for (const u of users) {
      admin.changed({ kind: 'user', id: u.user_id, record: null });
      await admin.audit(actor, route, 'deleted', 'user', u.user_id, auditJson(u), null);
    }
    return { deleted_users: ids, deleted_keys: tokens.length };
  });

  app.get('/user/list', liveSpend(admin, async (req) => {
    const route = '/user/list';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(ListQuery, req.query);
    const scope = scopeOf(actor, route);
    let { team, organization_ids } = q;
    if (!scope.all) {
      // An org admin lists the members of their organizations, a team admin those of their teams.
      if (organization_ids?.some((o) => !scope.orgs.includes(o))) refuse(`${route}: you do not administer every organization asked for`);
      if (team !== undefined && !scope.teams.includes(team) && !(await admin.teams.get(team).then((t) => t?.organization_id && scope.orgs.includes(t.organization_id)))) {
        refuse(`${route}: you do not administer team ${team}`);
      }
      if (team === undefined && !organization_ids?.length) {
        if (scope.orgs.length) organization_ids = scope.orgs;
        else if (scope.teams.length === 1) team = scope.teams[0];
        else if (scope.teams.length > 1) refuse(`${route}: name the team to list (team=...)`);
      }
    }
    const { users, total } = await admin.users.list({ ...q, team, organization_ids });
    const ids = users.map((u) => u.user_id);
    const memberships = ids.length ? await Promise.all(ids.map((id) => admin.teams.memberships(id))) : [];
    const counts = await admin.keys.countBy('user_id', ids);
    return {
      users: users.map((u, i) => ({ ...userJson(ctx, u, memberships[i]!.map((m) => m.team_id)), key_count: counts.get(u.user_id) ?? 0 })),
      total,
      page: q.page,
      page_size: q.page_size,
      total_pages: Math.ceil(total / q.page_size),
    };
  }));
}
