// Credential to Principal, from memory. A value that cannot be a key is refused before any lookup.
import { digestKey, looksLikeKey } from '../auth/keys.ts';
import type { Principal } from '../auth/principal.ts';
import type { RecordCache } from '../auth/key-cache.ts';
import { GatewayError } from '../http/errors.ts';
import { memberRef } from '../store/scopes.ts';
import type { Headers, PipelineContext } from './context.ts';

const BEARER = /^Bearer\s+/i;

/** The credential from `Authorization: Bearer`, `api-key` (Azure) or `x-api-key` (Anthropic). */
export function credentialOf(headers: Headers): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 0) return auth.replace(BEARER, '').trim() || null;
  for (const h of ['api-key', 'x-api-key', 'x-litellm-api-key']) {
    const v = headers[h];
    if (typeof v === 'string' && v.length > 0) return v.replace(BEARER, '').trim() || null;
  }
  return null;
}

export async function authenticate(ctx: PipelineContext, headers: Headers, now = Date.now()): Promise<Principal> {
  const credential = credentialOf(headers);
  if (credential === null) {
    throw new GatewayError('missing_key', 'Authentication Error: no API key passed. Send it as "Authorization: Bearer sk-...".');
  }
  const digest = digestKey(credential);
  if (ctx.isMaster(digest)) return { kind: 'master' };
  const invalid = () => new GatewayError('invalid_key', 'Authentication Error: invalid proxy server token passed.');
  if (!looksLikeKey(credential)) throw invalid();
  const token = digest.toString('hex');
  const key = await ctx.keyCache.lookup(token, now);
  if (!key) throw invalid();
  if (key.blocked) throw new GatewayError('blocked_key', 'Authentication Error: this key is blocked. Ask an admin to unblock it (/key/unblock).');
  if (key.expires !== null && Date.parse(key.expires) <= now) {
    throw new GatewayError('expired_key', `Authentication Error: this key expired at ${key.expires}.`);
  }
  // The key's owners, from memory when warm (a Map read each, no promise to wait for).
  const user = key.user_id === null ? null : await cached(ctx.users, key.user_id, now);
  const team = key.team_id === null ? null : await cached(ctx.teams, key.team_id, now);
  if (team?.blocked) {
    throw new GatewayError('blocked_team', `Authentication Error: team ${team.team_id} is blocked. Ask an admin to unblock it (/team/unblock).`);
  }
  const orgId = key.organization_id ?? team?.organization_id ?? null;
  const org = orgId === null ? null : await cached(ctx.orgs, orgId, now);
  // A team key of a user: the user's membership may carry a budget and limits of its own.
  const member = team && user ? await cached(ctx.members, memberRef(team.team_id, user.user_id), now) : null;
  return { kind: 'key', token, key, user, team, org, member };
}

function cached<T extends { spend_nanos: number }>(cache: RecordCache<T>, id: string, now: number): T | null | Promise<T | null> {
  const hit = cache.peek(id, now);
  return hit === undefined ? cache.lookup(id, now) : hit;
}
