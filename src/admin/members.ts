// Members of teams and organizations are named by user_id or user_email; an unknown one becomes a new
// internal user, as in LiteLLM. Shared by /team/* and /organization/*.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { UniqueViolation } from '../store/db.ts';
import type { UserRecord } from '../store/users.ts';
import type { Actor } from './access.ts';
import type { Admin } from './context.ts';

export const memberRef = {
  user_id: z.string().min(1, 'must not be empty').nullish(),
  user_email: z.string().min(3, 'must be an email address').max(320).nullish(),
};

/** `{user_id}` or `{user_email}` (or both) with a role of the given kinds. */
export function memberSchema<R extends readonly [string, ...string[]]>(roles: R) {
  return z
    .looseObject({ role: z.enum(roles, { error: `must be one of ${roles.join(', ')}` }), ...memberRef })
    .refine((m) => !!(m.user_id || m.user_email), { message: 'give user_id or user_email', path: ['user_id'] });
}

/** One member or a list of them, as LiteLLM takes either. */
export function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1, 'give at least one member')], { error: 'must be a member ({role, user_id or user_email}) or a list of them' });
}

export function newUser(actor: Actor, userId: string, email: string | null, role = 'internal_user'): UserRecord {
  const now = new Date().toISOString();
  return {
    user_id: userId, user_email: email, user_alias: null, user_role: role, models: [], metadata: {}, spend_nanos: 0, max_budget_nanos: null,
    soft_budget_nanos: null, budget_duration: null, budget_reset_at: null, budget_period_start: null, tpm_limit: null, rpm_limit: null,
    max_parallel_requests: null, model_max_budget: null, password_hash: null, extra: {}, created_by: actor.name, updated_by: actor.name,
    created_at: now, updated_at: now,
  };
}

/**
 * The user a member reference names, created as an internal user when unknown. `create: false`
 * (removing or changing a member) answers 404 instead. Reports whether it was created.
 */
export async function resolveMember(
  admin: Admin,
  actor: Actor,
  route: string,
  ref: { user_id?: string | null; user_email?: string | null },
  opts: { create: boolean; param?: string } = { create: true },
): Promise<{ user: UserRecord; created: boolean }> {
  const param = opts.param ?? 'member';
  let user = ref.user_id ? await admin.users.get(ref.user_id) : undefined;
  if (!user && ref.user_email) user = await admin.users.getByEmail(ref.user_email);
  if (user) {
    if (ref.user_id && ref.user_email && user.user_id !== ref.user_id) {
      throw new GatewayError('bad_request', `${param}: user_email ${ref.user_email} belongs to user ${user.user_id}, not ${ref.user_id}.`, { param });
    }
    return { user, created: false };
  }
  if (!opts.create) throw new GatewayError('not_found', `User ${ref.user_id ?? ref.user_email} not found.`, { param });
  const fresh = newUser(actor, ref.user_id ?? randomUUID(), ref.user_email ?? null);
  try {
    await admin.users.insert(fresh);
  } catch (err) {
    if (err instanceof UniqueViolation) return resolveMember(admin, actor, route, ref, { create: false, param });
    throw err;
  }
  admin.changed({ kind: 'user', id: fresh.user_id, record: fresh });
  await admin.audit(actor, route, 'created', 'user', fresh.user_id, null, { user_id: fresh.user_id, user_email: fresh.user_email, user_role: fresh.user_role });
  return { user: fresh, created: true };
}

/** Emails of users, by id (for members_with_roles). */
export async function emailsOf(admin: Admin, userIds: string[]): Promise<Map<string, string | null>> {
  const users = await admin.users.getMany([...new Set(userIds)]);
  return new Map(users.map((u) => [u.user_id, u.user_email]));
}
