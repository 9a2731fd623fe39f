// What every management module works with: the stores, the caller (an Actor, read fresh from the
// database on each call, so that a right taken away is gone at once), the caches and other
// instances to tell of a change, and the audit log.
import { randomUUIDv7 } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.ts';
import { checkKeyRoute } from '../auth/routes.ts';
import { GatewayError } from '../http/errors.ts';
import { authenticate, credentialOf } from '../pipeline/authenticate.ts';
import type { Headers, PipelineContext } from '../pipeline/context.ts';
import type { AuditRepo } from '../store/audit.ts';
import type { BudgetRecord, BudgetRepo } from '../store/budgets.ts';
import type { CustomerRecord, CustomerRepo } from '../store/customers.ts';
import type { Db } from '../store/db.ts';
import type { KeyRecord, KeyRepo } from '../store/keys.ts';
import type { OrgRecord, OrgRepo } from '../store/organizations.ts';
import type { TeamMember, TeamRecord, TeamRepo } from '../store/teams.ts';
import type { UserRecord, UserRepo } from '../store/users.ts';
import type { TagRecord, TagRepo } from '../store/tags.ts';
import type { KeyModelBudgetRepo } from '../store/key-models.ts';
import { authorize, USER_ROLES, type Actor, type UserRole } from './access.ts';

export interface Stores {
  keys: KeyRepo;
  users: UserRepo;
  teams: TeamRepo;
  orgs: OrgRepo;
  customers: CustomerRepo;
  budgets: BudgetRepo;
  tags: TagRepo;
  keyModels: KeyModelBudgetRepo;
  auditLog: AuditRepo;
}

export type Change =
  | { kind: 'key'; id: string; record: KeyRecord | null }
  | { kind: 'user'; id: string; record: UserRecord | null }
  | { kind: 'team'; id: string; record: TeamRecord | null }
  | { kind: 'org'; id: string; record: OrgRecord | null }
  | { kind: 'customer'; id: string; record: CustomerRecord | null }
  | { kind: 'budget'; id: string; record: BudgetRecord | null }
  /** A team membership, by its reference (store/scopes.ts memberRef). */
  | { kind: 'member'; id: string; record: TeamMember | null }
  | { kind: 'tag'; id: string; record: TagRecord | null }
  /** A key's per-model budget row (its ref, store/key-models.ts), read again where cached. */
  | { kind: 'key_model'; id: string; record: null };

/** LiteLLM's table names, as the audit log names what changed. */
export const TABLES = {
  key: 'LiteLLM_VerificationToken',
  user: 'LiteLLM_UserTable',
  team: 'LiteLLM_TeamTable',
  team_member: 'LiteLLM_TeamMembership',
  org: 'LiteLLM_OrganizationTable',
  org_member: 'LiteLLM_OrganizationMembership',
  customer: 'LiteLLM_EndUserTable',
  budget: 'LiteLLM_BudgetTable',
  tag: 'LiteLLM_TagTable',
} as const;

export interface Admin extends Stores {
  ctx: PipelineContext;
  db: Db;
  /** The caller of a management route, refused unless its role may call the route at all. */
  actor(headers: Headers, route: string): Promise<Actor>;
  /** A record changed: this instance's caches at once, other instances through the database. */
  changed(c: Change): void;
  /** One line of the audit log for a successful write. */
  audit(
    actor: Actor,
    route: string,
    action: string,
    table: keyof typeof TABLES,
    objectId: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void>;
}

const MASTER = (via: Actor['via'], name: string): Actor => ({
  role: 'proxy_admin',
  userId: null,
  user: null,
  key: null,
  keyToken: null,
  teams: new Set(),
  teamAdmin: new Set(),
  orgs: new Set(),
  orgAdmin: new Set(),
  via,
  name,
});

export function makeAdmin(ctx: PipelineContext, db: Db, stores: Stores): Admin {
  const userActor = async (user: UserRecord, via: Actor['via'], key: KeyRecord | null, token: string | null): Promise<Actor> => {
    const [teams, orgs] = await Promise.all([stores.teams.memberships(user.user_id), stores.orgs.memberships(user.user_id)]);
    const role: UserRole = (USER_ROLES as readonly string[]).includes(user.user_role) ? (user.user_role as UserRole) : 'internal_user';
    const teamIds = new Set(teams.map((m) => m.team_id));
    if (key?.team_id) teamIds.add(key.team_id);
    return {
      role,
      userId: user.user_id,
      user,
      key,
      keyToken: token,
      teams: teamIds,
      teamAdmin: new Set(teams.filter((m) => m.role === 'admin').map((m) => m.team_id)),
      orgs: new Set(orgs.map((m) => m.organization_id)),
      orgAdmin: new Set(orgs.filter((m) => m.user_role === 'org_admin').map((m) => m.organization_id)),
      via,
      name: user.user_id,
    };
  };
  const keyActor = (p: Extract<Principal, { kind: 'key' }>): Actor => {
    const orgId = p.key.organization_id ?? p.team?.organization_id ?? null;
    return {
      role: 'key',
      userId: null,
      user: null,
      key: p.key,
      keyToken: p.token,
      teams: new Set(p.key.team_id ? [p.key.team_id] : []),
      teamAdmin: new Set(),
      orgs: new Set(orgId ? [orgId] : []),
      orgAdmin: new Set(),
      via: 'key',
      name: p.key.key_alias ?? p.key.key_name,
    };
  };
  const notify = (ref: string) => db.notifyChanged(ref).catch((err: Error) => ctx.log.warn({ err }, 'could not tell other instances of a change'));

  return {
    ...stores,
    ctx,
    db,
    async actor(headers, route) {
      let actor: Actor;
      if (ctx.sessions && credentialOf(headers) === null && ctx.sessions.hasCookie(headers)) {
        const s = await ctx.sessions.verify(headers);
        if (s.user_id === null) actor = MASTER('session', s.username);
        else {
          const user = await stores.users.get(s.user_id);
          if (!user) throw new GatewayError('invalid_key', 'Your dashboard session has ended: sign in again.');
          actor = await userActor(user, 'session', null, null);
        }
      } else {
        const p = await authenticate(ctx, headers);
        if (p.kind === 'master') actor = MASTER('master_key', 'master_key');
        else {
          checkKeyRoute(p.key, route);
          // Rights are read fresh, not from the request path's cache: a role taken away is gone at once.
          const user = p.key.user_id === null ? undefined : await stores.users.get(p.key.user_id);
          actor = user ? await userActor(user, 'key', p.key, p.token) : keyActor(p);
        }
      }
      authorize(actor, route);
      return actor;
    },
    changed(c) {
      switch (c.kind) {
        case 'key':
          ctx.keyCache.set(c.id, c.record);
          void notify(c.id);
          return;
        case 'user':
          ctx.users.set(c.id, c.record);
          break;
        case 'team':
          ctx.teams.set(c.id, c.record);
          break;
        case 'org':
          ctx.orgs.set(c.id, c.record);
          break;
        case 'customer':
          ctx.customers.set(c.id, c.record);
          break;
        case 'budget':
          ctx.budgets.set(c.id, c.record);
          break;
        case 'member':
          ctx.members.set(c.id, c.record);
          break;
        case 'tag':
          ctx.tags.set(c.id, c.record);
          break;
        case 'key_model':
          ctx.keyModels.delete(c.id);
          break;
      }
      void notify(`${c.kind}:${c.id}`);
    },
    async audit(actor, route, action, table, objectId, before, after) {
      try {
        await stores.auditLog.insert({
          id: randomUUIDv7(),
          changed_at: new Date().toISOString(),
          changed_by: actor.name,
          changed_by_role: actor.role,
          changed_by_api_key: actor.keyToken,
          action,
          route,
          table_name: TABLES[table],
          object_id: objectId,
          before_value: before,
          updated_values: after,
        });
      } catch (err) {
        ctx.log.error({ err, route, objectId }, 'the audit log could not be written');
      }
    },
  };
}

/**
 * A management read that answers live spend (the database's figure plus the limiter's pending):
 * it runs while no ledger batch is being written, so that each record is counted once.
 */
export function liveSpend<R>(admin: Admin, handler: (req: FastifyRequest) => Promise<R>): (req: FastifyRequest) => Promise<R> {
  return (req) => admin.ctx.ledger.steady(() => handler(req));
}
