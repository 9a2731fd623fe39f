// Composition root: stores, caches, router and routes. No logic of its own.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerHealthRoutes } from './admin/health.ts';
import { registerKeyRoutes } from './admin/keys.ts';
import { registerModelRoutes } from './admin/models.ts';
import { KeyCache } from './auth/key-cache.ts';
import { makeMasterKeyCheck } from './auth/keys.ts';
import type { GatewayConfig } from './config/load.ts';
import { createServer } from './http/server.ts';
import { handleLlm } from './pipeline/handle.ts';
import type { Endpoint } from './providers/openai/request.ts';
import type { PipelineContext } from './pipeline/context.ts';
import { closeAgents } from './providers/http-client.ts';
import { Router } from './router/router.ts';
import type { Db } from './store/db.ts';
import { KeyRepo } from './store/keys.ts';
import { migrate } from './store/migrations.ts';

export interface App {
  server: FastifyInstance;
  ctx: PipelineContext;
  close(): Promise<void>;
}

export async function buildApp(opts: { config: GatewayConfig; masterKey: string; db: Db; log: Logger }): Promise<App> {
  const { config, db, log } = opts;
  await migrate(db);
  const repo = new KeyRepo(db);
  const ctx: PipelineContext = {
    config,
    router: new Router(config.deployments),
    keyCache: new KeyCache(repo),
    isMaster: makeMasterKeyCheck(opts.masterKey),
    log,
  };
  const server = createServer({ bodyLimit: config.maxRequestSizeBytes, log });

  const llmRoutes: [string, Endpoint][] = [
    ['/chat/completions', 'chat/completions'],
    ['/v1/chat/completions', 'chat/completions'],
    ['/embeddings', 'embeddings'],
    ['/v1/embeddings', 'embeddings'],
  ];
  for (const [path, endpoint] of llmRoutes) {
    server.post(path, (req, reply) => {
      reply.hijack();
      const inbound = { id: randomUUID(), headers: req.headers, body: req.body as Buffer | undefined, startedAt: performance.now() };
      handleLlm(ctx, endpoint, inbound, reply.raw).catch((err) => {
        log.error({ err, requestId: inbound.id }, 'LLM handler failed');
        if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
        else reply.raw.destroy();
      });
    });
  }
  registerKeyRoutes(server, ctx, repo);
  registerModelRoutes(server, ctx);
  registerHealthRoutes(server, db);

  return {
    server,
    ctx,
    async close() {
      await server.close();
      await closeAgents();
      await db.close();
    },
  };
}
