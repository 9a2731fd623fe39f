// Who may call which management route, on which entities: one table (PERMISSIONS), read by
// `authorize` for every call and by the README's "Roles and permissions" table (a test keeps the two in
// step). Roles are LiteLLM's; team admins and org admins are internal users with that role in a team's
// membership or an organization's. The master key (and an admin's dashboard session) is proxy_admin.
import type { KeyRecord } from '../store/keys.ts';
import type { UserRecord } from '../store/users.ts';
import { GatewayError } from '../http/errors.ts';

export const USER_ROLES = ['proxy_admin', 'proxy_admin_viewer', 'org_admin', 'internal_user', 'internal_user_viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/**
 * What a kind of caller may do on a route:
 * - `all`: any entity;
 * - `org`: entities of the organizations they administer;
 * - `team`: entities of the teams they administer;
 * - `member`: the teams and organizations they are members of (and their own user and keys);
 * - `own`: their own user, and their own keys;
 * - `-`: nothing.
 */
export type Grant = 'all' | 'org' | 'team' | 'member' | 'own' | '-';

/** The kinds of caller, in the README's order. proxy_admin may do everything and has no column. */
export const CALLERS = ['proxy_admin_viewer', 'org_admin', 'team_admin', 'internal_user', 'internal_user_viewer', 'key'] as const;
export type Caller = (typeof CALLERS)[number];

export interface Rule {
  /** A write: viewers (proxy_admin_viewer, internal_user_viewer) never get it, whatever the grant says. */
  write: boolean;
  grants: Record<Caller, Grant>;
}

const rule = (write: boolean, ...g: Grant[]): Rule => ({
  write,
  grants: Object.fromEntries(CALLERS.map((c, i) => [c, g[i] ?? '-'])) as Record<Caller, Grant>,
});
const W = true;
const R = false;

/** Columns: proxy_admin_viewer, org admin, team admin, internal_user, internal_user_viewer, a key of no user. */
export const PERMISSIONS: Record<string, Rule> = {
  '/key/generate': rule(W, '-', 'org', 'team', 'own'),
  '/key/update': rule(W, '-', 'org', 'team', 'own'),
  '/key/regenerate': rule(W, '-', 'org', 'team', 'own'),
  '/key/delete': rule(W, '-', 'org', 'team', 'own'),
  '/key/block': rule(W, '-', 'org', 'team'),
  '/key/unblock': rule(W, '-', 'org', 'team'),
  '/key/info': rule(R, 'all', 'org', 'team', 'own', 'own', 'own'),
  '/key/list': rule(R, 'all', 'org', 'team', 'own', 'own'),
  '/user/new': rule(W, '-', 'org'),
  '/user/info': rule(R, 'all', 'org', 'team', 'own', 'own'),
  '/user/update': rule(W, '-', 'org', '-', 'own'),
  '/user/delete': rule(W, '-', 'org'),
  '/user/list': rule(R, 'all', 'org', 'team'),
  '/team/new': rule(W, '-', 'org'),
  '/team/info': rule(R, 'all', 'org', 'member', 'member', 'member', 'member'),
  '/team/list': rule(R, 'all', 'org', 'member', 'member', 'member', 'member'),
  '/team/update': rule(W, '-', 'org'),
  '/team/delete': rule(W, '-', 'org'),
  '/team/block': rule(W, '-', 'org'),
  '/team/unblock': rule(W, '-', 'org'),
  '/team/member_add': rule(W, '-', 'org', 'team'),
  '/team/member_delete': rule(W, '-', 'org', 'team'),
  '/team/member_update': rule(W, '-', 'org', 'team'),
  '/team/model/add': rule(W, '-', 'org'),
  '/team/model/delete': rule(W, '-', 'org', 'team'),
  '/organization/new': rule(W),
  '/organization/info': rule(R, 'all', 'org', 'member', 'member', 'member'),
  '/organization/list': rule(R, 'all', 'org', 'member', 'member', 'member'),
  '/organization/update': rule(W),
  '/organization/delete': rule(W),
  '/organization/member_add': rule(W, '-', 'org'),
  '/organization/member_delete': rule(W, '-', 'org'),
  '/organization/member_update': rule(W, '-', 'org'),
  '/customer/new': rule(W),
  '/customer/info': rule(R, 'all'),
  '/customer/list': rule(R, 'all'),
  '/customer/update': rule(W),
  '/customer/delete': rule(W),
  '/customer/block': rule(W),
  '/customer/unblock': rule(W),
  '/tag/new': rule(W),
  '/tag/info': rule(R, 'all'),
  '/tag/list': rule(R, 'all'),
  '/tag/update': rule(W),
  '/tag/delete': rule(W),
  '/budget/new': rule(W),
  '/budget/info': rule(R, 'all'),
  '/budget/list': rule(R, 'all'),
  '/budget/settings': rule(R, 'all'),
  '/budget/update': rule(W),
  '/budget/delete': rule(W),
  '/spend/logs': rule(R, 'all', 'org', 'team', 'own', 'own'),
  '/global/spend': rule(R, 'all'),
  '/audit': rule(R, 'all'),
  '/health': rule(R, 'all'),
  '/health/services': rule(W),
  '/cache/ping': rule(R, 'all'),
  '/cache/delete': rule(W),
  '/cache/flushall': rule(W),
  // The dashboard's read models.
  '/ui/api/keys': rule(R, 'all', 'org', 'team', 'own', 'own'),
  '/ui/api/models': rule(R, 'all'),
  '/ui/api/health': rule(R, 'all'),
  '/ui/api/usage': rule(R, 'all', 'org', 'team', 'own', 'own'),
};

/** Who is calling a management route, with the facts the table's grants are checked against. */
export interface Actor {
  role: UserRole | 'key';
  /** The acting user (null: the master key, an admin's dashboard session, a key of no user). */
  userId: string | null;
  user: UserRecord | null;
  /** The calling key, when the call came with one. */
  key: KeyRecord | null;
  keyToken: string | null;
  /** Teams the user is a member of (for a key of no user: its own team), and those they administer. */
  teams: ReadonlySet<string>;
  teamAdmin: ReadonlySet<string>;
  orgs: ReadonlySet<string>;
  orgAdmin: ReadonlySet<string>;
  /** How it authenticated, and under which name, for the audit log. */
  via: 'master_key' | 'session' | 'key';
  name: string;
}

/** What a call acts on: the entity's user, teams and organizations, and the key when it is one. */
export interface Target {
  userId?: string | null;
  teamIds?: readonly (string | null | undefined)[];
  orgIds?: readonly (string | null | undefined)[];
  keyToken?: string | null;
}

const VIEWERS = new Set(['proxy_admin_viewer', 'internal_user_viewer']);

export function isAdmin(a: Actor): boolean {
  return a.role === 'proxy_admin';
}

/** The kinds of caller an actor is (a user may be a team admin and an org admin besides). */
export function callersOf(a: Actor): Caller[] {
  if (a.role === 'key') return ['key'];
  const out: Caller[] = [];
  if (a.role === 'proxy_admin_viewer') out.push('proxy_admin_viewer');
  if (a.orgAdmin.size > 0) out.push('org_admin');
  if (a.teamAdmin.size > 0) out.push('team_admin');
  out.push(a.role === 'internal_user_viewer' || a.role === 'proxy_admin_viewer' ? 'internal_user_viewer' : 'internal_user');
  return out;
}

const some = (ids: readonly (string | null | undefined)[] | undefined, set: ReadonlySet<string>) => !!ids?.some((id) => id != null && set.has(id));

function own(a: Actor, t: Target): boolean {
  return (a.userId !== null && t.userId === a.userId) || (a.keyToken !== null && t.keyToken === a.keyToken);
}

/** Whether one grant covers the target. */
export function grantCovers(a: Actor, g: Grant, t: Target): boolean {
  switch (g) {
    case 'all':
      return true;
    case 'org':
      return some(t.orgIds, a.orgAdmin);
    case 'team':
      return some(t.teamIds, a.teamAdmin);
    case 'member':
      // A team's members see the team (not its organization's other teams); an organization's, the organization.
      return own(a, t) || (t.teamIds?.length ? some(t.teamIds, a.teams) : some(t.orgIds, a.orgs));
    case 'own':
      return own(a, t);
    case '-':
      return false;
  }
}

/** The grants an actor holds on a route (none for a viewer on a write). */
export function grantsOf(a: Actor, route: string): Grant[] {
  const r = PERMISSIONS[route];
  if (!r) throw new Error(`no permission rule for ${route}`);
  if (isAdmin(a)) return ['all'];
  if (r.write && VIEWERS.has(a.role)) return [];
  return callersOf(a).map((c) => r.grants[c]).filter((g) => g !== '-');
}

const ORDER: Grant[] = ['all', 'org', 'team', 'member', 'own'];

/** The widest of the actor's grants that covers the target, or null. */
export function grantFor(a: Actor, route: string, t: Target): Grant | null {
  const grants = grantsOf(a, route);
  for (const g of ORDER) if (grants.includes(g) && grantCovers(a, g, t)) return g;
  return null;
}

/** Whether the actor may call the route at all (before any entity is known). */
export function mayCall(a: Actor, route: string): boolean {
  return grantsOf(a, route).length > 0;
}

export function describeActor(a: Actor): string {
  if (a.role === 'key') return 'a key of no user';
  return a.userId === null ? a.role : `${a.role} (user ${a.userId})`;
}

function refuse(a: Actor, route: string, what: string): never {
  throw new GatewayError('admin_only', `Not allowed: ${route} ${what}. You are ${describeActor(a)}.`);
}

/**
 * Refuses the call unless one of the actor's grants covers the target; with no target, unless the
 * actor may call the route at all (list routes then narrow their answer with `scopeOf`).
 */
export function authorize(a: Actor, route: string, target?: Target, what?: string): void {
  const grants = grantsOf(a, route);
  if (grants.length === 0) {
    const r = PERMISSIONS[route]!;
    refuse(a, route, r.write && VIEWERS.has(a.role) ? 'is a write, and viewers only read' : 'is not open to your role');
  }
  if (target === undefined) return;
  if (!grants.some((g) => grantCovers(a, g, target))) refuse(a, route, `is not allowed on ${what ?? 'this entity'}`);
}

/** What a list route may show the actor: everything, or entities matching any of these. */
export type Scope = { all: true } | { all: false; userId: string | null; keyToken: string | null; teams: string[]; orgs: string[] };

export function scopeOf(a: Actor, route: string): Scope {
  const grants = grantsOf(a, route);
  if (grants.includes('all')) return { all: true };
  const teams = new Set<string>();
  const orgs = new Set<string>();
  for (const g of grants) {
    if (g === 'org') for (const o of a.orgAdmin) orgs.add(o);
    if (g === 'team') for (const t of a.teamAdmin) teams.add(t);
    // (members of an organization list the organization itself: /organization/list reads memberships)
    if (g === 'member') for (const t of a.teams) teams.add(t);
  }
  return { all: false, userId: a.userId, keyToken: a.keyToken, teams: [...teams], orgs: [...orgs] };
}

/** The permission table as the README shows it. */
export function permissionRows(): string[] {
  return Object.entries(PERMISSIONS).map(([route, r]) => `| \`${route}\` | ${CALLERS.map((c) => r.grants[c]).join(' | ')} |`);
}
