// /models (OpenAI's list, only what the caller's key may use) and /model/info (deployments, no secrets).
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../auth/principal.ts';
import { checkKeyRoute } from '../auth/routes.ts';
import { authenticate } from '../pipeline/authenticate.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { modelAllowed } from '../policy/model-access.ts';

const CREATED = 1677610602;

function visibleGroups(ctx: PipelineContext, p: Principal): string[] {
  const names = ctx.router.groupNames().filter((g) => modelAllowed(p, g, ctx.accessGroups));
  if (p.kind === 'key') for (const alias of Object.keys(p.key.aliases)) if (!names.includes(alias)) names.push(alias);
  return names;
}

export function registerModelRoutes(app: FastifyInstance, ctx: PipelineContext): void {
  const list = async (req: { headers: Record<string, string | string[] | undefined>; url: string }) => {
    const p = await authenticate(ctx, req.headers);
    if (p.kind === 'key') checkKeyRoute(p.key, req.url.split('?')[0]!);
    return {
      object: 'list',
      // Wildcard groups (openai/*) name no model a client can call as written: /model/info shows them.
      data: visibleGroups(ctx, p)
        .filter((id) => !id.includes('*'))
        .map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'openai' })),
    };
  };
  app.get('/models', list);
  app.get('/v1/models', list);

  const info = async (req: { headers: Record<string, string | string[] | undefined>; url: string }) => {
    const p = await authenticate(ctx, req.headers);
    if (p.kind === 'key') checkKeyRoute(p.key, req.url.split('?')[0]!);
    const allowed = new Set(visibleGroups(ctx, p));
    return {
      data: ctx.config.deployments
        .filter((d) => allowed.has(d.modelName))
        .map((d) => ({
          model_name: d.modelName,
          litellm_params: d.publicParams,
          model_info: { ...d.modelInfo, litellm_provider: d.provider },
        })),
    };
  };
  app.get('/model/info', info);
  app.get('/v1/model/info', info);
}
