// /cache/* : the response cache's management (LiteLLM's routes and shapes), for proxy admins. Without a
// cache configured they answer 503, as LiteLLM's do; /cache/flushall empties the cache's own
// namespace only (a shared Redis keeps the gateway's counters and leases).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseBody } from './body.ts';
import type { Admin } from './context.ts';

const DeleteBody = z.looseObject({ keys: z.array(z.string().min(1), { error: 'is required (a list of cache keys, as x-litellm-cache-key gives them)' }).min(1, 'give at least one key') });

export function registerCacheRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx } = admin;
  const off = (reply: FastifyReply) =>
    reply.code(503).send({ error: { message: 'The response cache is not on: set litellm_settings.cache: true (and cache_params).', type: 'service_unavailable', param: null, code: '503' } });

  app.get('/cache/ping', async (req, reply) => {
    await admin.actor(req.headers, '/cache/ping');
    const cache = ctx.cache;
    if (!cache) return off(reply);
    const ok = await cache.store.ping().catch(() => false);
    const s = cache.settings;
    const params = { type: s.type, namespace: s.namespace, ttl: s.ttlMs / 1000, supported_call_types: s.callTypes, mode: s.mode, scope: s.scope };
    if (!ok) return reply.code(503).send({ status: 'unhealthy', cache_type: cache.store.kind, ping_response: false, litellm_cache_params: params });
    return { status: 'healthy', cache_type: cache.store.kind, ...(cache.store.kind === 'redis' ? { ping_response: true } : {}), litellm_cache_params: params };
  });

  app.post('/cache/delete', async (req, reply) => {
    await admin.actor(req.headers, '/cache/delete');
    const body = parseBody(DeleteBody, req.body);
    if (!ctx.cache) return off(reply);
    const deleted = await ctx.cache.store.delete(body.keys);
    return { status: 'success', deleted };
  });

  app.post('/cache/flushall', async (req, reply) => {
    await admin.actor(req.headers, '/cache/flushall');
    if (!ctx.cache) return off(reply);
    await ctx.cache.store.flush();
    return { status: 'success' };
  });
}
