import type { Principal } from '../auth/principal.ts';
import { GatewayError } from '../http/errors.ts';
import { authenticate, credentialOf } from '../pipeline/authenticate.ts';
import type { Headers, PipelineContext } from '../pipeline/context.ts';

/** Management routes are for the master key only, or a dashboard session (which acts as it). */
export async function requireMaster(ctx: PipelineContext, headers: Headers, route: string): Promise<Principal> {
  if (ctx.sessions && credentialOf(headers) === null && ctx.sessions.hasCookie(headers)) {
    await ctx.sessions.verify(headers);
    return { kind: 'master' };
  }
  const p = await authenticate(ctx, headers);
  if (p.kind !== 'master') {
    throw new GatewayError('admin_only', `Only the master key can call ${route}; a virtual key may only read its own /key/info.`);
  }
  return p;
}
