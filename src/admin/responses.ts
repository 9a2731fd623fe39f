// The Responses API's retrieval routes, for the responses the gateway keeps: GET /v1/responses/{id},
// DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items and POST /v1/responses/{id}/cancel
// (also without /v1). Any key may call them, for its own responses only: another key's id is answered
// as not found, as an id never seen is.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkKeyRoute } from '../auth/routes.ts';
import { GatewayError } from '../http/errors.ts';
import { authenticate } from '../pipeline/authenticate.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { notFound, ownerOf } from '../pipeline/responses-state.ts';

type Obj = Record<string, any>;

async function ownerFor(ctx: PipelineContext, req: FastifyRequest, route: string): Promise<string> {
  const principal = await authenticate(ctx, req.headers);
  if (principal.kind === 'key' && principal.key.allowed_routes !== null) checkKeyRoute(principal.key, route);
  return ownerOf(principal);
}

/** The input items of a stored response, paginated as OpenAI lists them (after, limit, order). */
function itemsPage(items: Obj[], q: Obj): Obj {
  const limit = Math.min(Math.max(Number(q.limit) || 20, 1), 100);
  const withIds = items.map((it, i) => (typeof it.id === 'string' ? it : { ...it, id: `item_${i}` }));
  let list = q.order === 'asc' ? withIds : [...withIds].reverse();
  if (typeof q.after === 'string') {
    const at = list.findIndex((it) => it.id === q.after);
    list = at >= 0 ? list.slice(at + 1) : [];
  }
  const data = list.slice(0, limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: list.length > limit };
}

export function registerResponseRoutes(app: FastifyInstance, ctx: PipelineContext): void {
  for (const base of ['/v1/responses', '/responses']) {
    app.get(`${base}/:id`, async (req) => {
      const id = (req.params as { id: string }).id;
      const row = await ctx.responses.get(id, await ownerFor(ctx, req, base));
      if (!row) throw notFound(id);
      return row.response;
    });
    app.delete(`${base}/:id`, async (req) => {
      const id = (req.params as { id: string }).id;
      if (!(await ctx.responses.delete(id, await ownerFor(ctx, req, base)))) throw notFound(id);
      return { id, object: 'response', deleted: true };
    });
    app.get(`${base}/:id/input_items`, async (req) => {
      const id = (req.params as { id: string }).id;
      const row = await ctx.responses.get(id, await ownerFor(ctx, req, base));
      if (!row) throw notFound(id);
      return itemsPage(row.input_items, req.query as Obj);
    });
    app.post(`${base}/:id/cancel`, async (req) => {
      const id = (req.params as { id: string }).id;
      const row = await ctx.responses.get(id, await ownerFor(ctx, req, base));
      if (!row) throw notFound(id);
      // Only background responses can be cancelled, and the gateway runs none: this one has finished.
      throw new GatewayError('bad_request', `Response '${id}' is ${String(row.response.status ?? 'completed')}: only background responses, which this gateway does not run, can be cancelled.`);
    });
  }
}
