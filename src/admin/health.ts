import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.ts';
import { VERSION } from '../version.ts';

export function registerHealthRoutes(app: FastifyInstance, db: Db): void {
  app.get('/health/liveliness', async () => 'I\'m alive!');
  app.get('/health/liveness', async () => 'I\'m alive!');
  app.get('/health/readiness', async (_req, reply) => {
    try {
      await db.get('SELECT 1 AS ok');
      return { status: 'healthy', db: 'connected', litellm_version: VERSION };
    } catch {
      return reply.code(503).send({ status: 'unhealthy', db: 'disconnected', litellm_version: VERSION });
    }
  });
}
