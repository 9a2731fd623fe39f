// Composition root: stores, caches, router and routes. No logic of its own.
import { randomUUIDv7 } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerHealthRoutes } from './admin/health.ts';
import { registerKeyRoutes } from './admin/keys.ts';
import { registerModelRoutes } from './admin/models.ts';
import { registerSpendRoutes } from './admin/spend.ts';
import { registerUiRoutes } from './admin/ui.ts';
import { UiSessions } from './auth/session.ts';
import { SessionRepo } from './store/sessions.ts';
import { KeyCache } from './auth/key-cache.ts';
import { makeMasterKeyCheck } from './auth/keys.ts';
import type { GatewayConfig } from './config/load.ts';
import { createServer, type DirectRoute } from './http/server.ts';
import { handleCountTokens } from './pipeline/count-tokens.ts';
import { handleLlm, type Inbound, type Route } from './pipeline/handle.ts';
import type { PipelineContext } from './pipeline/context.ts';
import { closeAgents } from './providers/http-client.ts';
import { Router } from './router/router.ts';
import type { Db } from './store/db.ts';
import { KeyRepo } from './store/keys.ts';
import { Journal } from './metering/journal.ts';
import { Ledger } from './metering/ledger.ts';
import { PriceBook } from './metering/prices.ts';
import { loadCostMap } from './metering/cost-map.ts';
import { schedulePruning } from './metering/retention.ts';
import { ExpectedOutput } from './policy/expected-output.ts';
import { MemoryLimiter } from './policy/limiter.ts';
import { Metrics } from './telemetry/metrics.ts';
import { accessLogVia, type AccessLog } from './telemetry/log.ts';
import { resetDueBudgets, scheduleBudgetResets } from './policy/budget-reset.ts';

export interface App {
  server: FastifyInstance;
  ctx: PipelineContext;
  /**
   * Stops accepting, lets calls in flight finish for up to `graceMs` (then cuts them: their streams end
   * with an error event and they are settled), writes every pending record, closes the database.
   */
  close(graceMs?: number): Promise<void>;
}

export interface AppOptions {
  config: GatewayConfig;
  masterKey: string;
  db: Db;
  /** Folder of the spend journal (records not yet in the database). */
  journalDir: string;
  log: Logger;
  /** One line per call (no secrets in it by construction); defaults to lines through `log`. */
  accessLog?: AccessLog;
  /** How often the ledger writes to the database. */
  flushIntervalMs?: number;
  /** How often ended budget periods are looked for. */
  budgetResetEveryMs?: number;
  /** Dashboard sign-in; the password defaults to the master key, as in LiteLLM. */
  ui?: { username?: string; password?: string; sessionTtlMs?: number };
}

const UI_SESSION_TTL_MS = 12 * 3600_000;

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config, db, log } = opts;
  if (config.allowRequestsOnDbUnavailable) {
    // Serve what can be served without the database (the master key) while it comes up.
    await db.migrate().catch((err: Error) => {
      log.error(`the database is unreachable (${err.message}); serving without it, retrying every 5 s`);
      const retry = setInterval(() => {
        db.migrate().then(
          () => {
            clearInterval(retry);
            log.info('database reachable: migrations applied');
          },
          () => {},
        );
      }, 5_000);
      retry.unref();
    });
  } else {
    await db.migrate();
  }
  const repo = new KeyRepo(db);
  const keyCache = new KeyCache(repo, { serveStale: config.allowRequestsOnDbUnavailable });
  // Keys changed on another instance are read again at once.
  await db.onKeyChanged((token) => keyCache.delete(token));
  const limiter = new MemoryLimiter();
  const ledger = new Ledger({
    db,
    journal: new Journal(opts.journalDir),
    log,
    intervalMs: opts.flushIntervalMs,
    onApplied: (batch) => {
      for (const [token, nanos] of batch.keySpend) {
        limiter.spendWritten(token, nanos);
        keyCache.addSpend(token, nanos);
      }
    },
  });
  await ledger.start();
  let costMap = {};
  if (config.modelCostMap) {
    try {
      costMap = await loadCostMap(config.modelCostMap);
    } catch (err) {
      log.warn(`model cost map ${config.modelCostMap} could not be loaded (${(err as Error).message}); using the built-in catalog`);
    }
  }
  const prices = new PriceBook(costMap);
  for (const d of config.deployments) {
    if (!d.upstreamModel.includes('*') && prices.priceFor(d, d.upstreamModel).source === 'none') {
      log.warn(`model "${d.modelName}" (${d.provider}/${d.upstreamModel}) has no known price: it is metered at 0; set input_cost_per_token / output_cost_per_token`);
    }
  }
  const sessionRepo = new SessionRepo(db);
  const sessions = new UiSessions(sessionRepo, {
    username: opts.ui?.username || 'admin',
    password: opts.ui?.password || opts.masterKey,
    ttlMs: opts.ui?.sessionTtlMs ?? UI_SESSION_TTL_MS,
  });
  const ctx: PipelineContext = {
    config,
    router: new Router(config.deployments),
    keyCache,
    isMaster: makeMasterKeyCheck(opts.masterKey),
    prices,
    limiter,
    expectedOutput: new ExpectedOutput(),
    ledger,
    metrics: new Metrics(),
    log,
    accessLog: opts.accessLog ?? accessLogVia(log),
    sessions,
  };
  await resetDueBudgets(repo, keyCache, limiter).catch((err) => log.warn({ err }, 'budget resets will be retried'));
  const stopResets = scheduleBudgetResets(repo, keyCache, limiter, log, opts.budgetResetEveryMs);
  const stopPruning = config.spendLogsRetention ? schedulePruning(db, config.spendLogsRetention, log) : () => {};
  const chat: Route = { dialect: 'openai', endpoint: 'chat/completions' };
  const embeddings: Route = { dialect: 'openai', endpoint: 'embeddings' };
  const messages: Route = { dialect: 'anthropic', endpoint: 'messages' };
  const llmRoutes: [string, Route | 'count_tokens'][] = [
    ['/chat/completions', chat],
    ['/v1/chat/completions', chat],
    ['/embeddings', embeddings],
    ['/v1/embeddings', embeddings],
    // Anthropic's Messages API (Claude Code adds ?beta=true, which the router ignores).
    ['/v1/messages', messages],
    ['/v1/messages/count_tokens', 'count_tokens'],
  ];
  const direct = new Map<string, DirectRoute>();
  for (const [path, route] of llmRoutes) {
    direct.set(path, {
      dialect: route === 'count_tokens' ? 'anthropic' : route.dialect,
      handle(req, res, body) {
        // Time-ordered ids (UUIDv7): the spend log's primary key grows at its end instead of at random
        // places, which cut the cost of writing a record by a third (SQLite, measured).
        const inbound: Inbound = { id: randomUUIDv7(), headers: req.headers, body, startedAt: performance.now() };
        const handled = route === 'count_tokens' ? handleCountTokens(ctx, inbound, res) : handleLlm(ctx, route, inbound, res);
        handled.catch((err) => {
          log.error({ err, requestId: inbound.id }, 'LLM handler failed');
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy();
        });
      },
    });
  }
  const server = createServer({ bodyLimit: config.maxRequestSizeBytes, log, direct });
  for (const [path, route] of direct) {
    server.post(path, (req, reply) => {
      reply.hijack();
      route.handle(req.raw, reply.raw, req.body as Buffer | undefined);
    });
  }
  registerKeyRoutes(server, ctx, repo, db);
  registerModelRoutes(server, ctx);
  registerSpendRoutes(server, ctx, db);
  registerHealthRoutes(server, ctx, db);
  registerUiRoutes(server, ctx, sessions, repo, db);
  const sweepSessions = setInterval(() => {
    sessionRepo.deleteExpired(new Date().toISOString()).catch(() => {});
  }, 3600_000);
  sweepSessions.unref();
  server.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  return {
    server,
    ctx,
    async close(graceMs = config.shutdownGraceMs) {
      const cut = setTimeout(() => server.server.closeAllConnections(), graceMs);
      // Keep-alive connections whose call ends during the grace period are closed as they go idle.
      const idle = setInterval(() => server.server.closeIdleConnections(), 50);
      await server.close();
      clearTimeout(cut);
      clearInterval(idle);
      stopResets();
      stopPruning();
      clearInterval(sweepSessions);
      await ledger.close();
      await closeAgents();
      await db.close();
    },
  };
}
