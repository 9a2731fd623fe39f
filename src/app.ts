// Composition root: stores, caches, router and routes. No logic of its own.
import { randomUUIDv7 } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerHealthRoutes } from './admin/health.ts';
import { registerResponseRoutes } from './admin/responses.ts';
import { registerKeyRoutes } from './admin/keys.ts';
import { makeAdmin } from './admin/context.ts';
import { registerUserRoutes } from './admin/users.ts';
import { registerTeamRoutes } from './admin/teams.ts';
import { registerOrganizationRoutes } from './admin/organizations.ts';
import { registerCustomerRoutes } from './admin/customers.ts';
import { registerTagRoutes } from './admin/tags.ts';
import { registerBudgetRoutes } from './admin/budgets.ts';
import { registerAuditRoutes } from './admin/audit.ts';
import { registerModelRoutes } from './admin/models.ts';
import { registerSpendRoutes } from './admin/spend.ts';
import { registerUiRoutes } from './admin/ui.ts';
import { UiSessions } from './auth/session.ts';
import { SessionRepo } from './store/sessions.ts';
import { KeyCache, RecordCache } from './auth/key-cache.ts';
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
import { UserRepo } from './store/users.ts';
import { TeamRepo } from './store/teams.ts';
import { OrgRepo } from './store/organizations.ts';
import { CustomerRepo } from './store/customers.ts';
import { BudgetRepo } from './store/budgets.ts';
import { AuditRepo } from './store/audit.ts';
import { CustomerPolicy } from './policy/customers.ts';
import { accessGroupsOf } from './policy/access-groups.ts';
import { Journal } from './metering/journal.ts';
import { Ledger } from './metering/ledger.ts';
import { PriceBook } from './metering/prices.ts';
import { loadCostMap } from './metering/cost-map.ts';
import { schedulePruning, scheduleResponsePruning } from './metering/retention.ts';
import { ResponseStore } from './store/responses.ts';
import { ExpectedOutput } from './policy/expected-output.ts';
import { MemoryLimiter } from './policy/limiter.ts';
import { LocalCounters, type BudgetCounter } from './policy/counters.ts';
import { RedisCounters, redisAddress } from './policy/redis-counters.ts';
import { Metrics } from './telemetry/metrics.ts';
import { Cooldowns } from './router/cooldowns.ts';
import { HealthChecks } from './router/health-checks.ts';
import { ResponseCache, type CacheSettings } from './cache/response-cache.ts';
import { LocalCache, RedisCache } from './cache/store.ts';
import { createClient, type RedisClientType } from 'redis';
import { checkDeployment } from './admin/health.ts';
import { registerCacheRoutes } from './admin/cache.ts';
import { AlertSender } from './telemetry/alert-sender.ts';
import { BudgetAlerts } from './policy/alerts.ts';
import { AlertClaimRepo } from './store/alerts.ts';
import { accessLogVia, type AccessLog } from './telemetry/log.ts';
import { budgetPeriods, resetDueBudgets, scheduleBudgetResets, sharedBudgetPeriods } from './policy/budget-reset.ts';
import { SharedBudgets } from './policy/shared-budgets.ts';
import { memberIds } from './store/scopes.ts';
import { freshSpend } from './policy/fresh-spend.ts';
import { TagBudgets } from './policy/tags.ts';
import { ensureTagBudgets } from './policy/tag-config.ts';
import { TagRepo } from './store/tags.ts';
import { KeyModelBudgetRepo } from './store/key-models.ts';
import { ensureProxyBudget, PROXY_BUDGET_ID } from './policy/proxy-budget.ts';

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
  /** Gives the journal directory back (main.ts locks it for this process); called once the ledger is closed. */
  unlockJournal?: () => void;
  /** How often the ledger writes to the database. */
  flushIntervalMs?: number;
  /** How often ended budget periods are looked for. */
  budgetResetEveryMs?: number;
  /** The first wait before a failed alert is sent again (then 4 times longer). */
  alertRetryMs?: number;
  /** Dashboard sign-in; the password defaults to the master key, as in LiteLLM. */
  ui?: { username?: string; password?: string; sessionTtlMs?: number };
}

const UI_SESSION_TTL_MS = 12 * 3600_000;

/** The response cache and its store: in this process, or in Redis (its own connection; away: every lookup a miss). */
async function responseCache(settings: CacheSettings, log: Logger): Promise<{ cache: ResponseCache; close: () => Promise<void> }> {
  if (settings.type === 'local' || !settings.redisUrl) {
    if (settings.type === 'redis') log.warn('cache_params.type is redis but no Redis is configured (cache_params host/port, REDIS_URL or REDIS_HOST): answers are cached in this process');
    return { cache: new ResponseCache(settings, new LocalCache(settings.maxBytes), log), close: async () => {} };
  }
  const client = createClient({
    url: settings.redisUrl,
    // (a lookup is on the call's path: a Redis that is slow or away is a miss at once, not a wait)
    disableOfflineQueue: true,
    commandOptions: { timeout: 250, rejectInFlight: true },
    socket: { connectTimeout: 2_000, reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2_000) },
  }) as RedisClientType;
  client.on('error', (err: Error) => log.debug({ err }, 'response cache: Redis unreachable (lookups are misses)'));
  // Up to 2 s for a first answer; past that the start goes on and the client keeps reconnecting.
  const connected = client.connect().then(() => true, () => false);
  const ready = await Promise.race([connected, new Promise<boolean>((r) => setTimeout(() => r(false), 2_000).unref())]);
  if (!ready) log.warn(`response cache: Redis (${redisAddress(settings.redisUrl!)}) does not answer yet: every lookup is a miss until it does`);
  const close = async () => {
    await client.close().catch(() => client.destroy());
  };
  return { cache: new ResponseCache(settings, new RedisCache(client, 'llmproxy:cache:'), log), close };
}

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
  const stores = {
    keys: repo,
    users: new UserRepo(db),
    teams: new TeamRepo(db),
    orgs: new OrgRepo(db),
    customers: new CustomerRepo(db),
    budgets: new BudgetRepo(db),
    tags: new TagRepo(db),
    keyModels: new KeyModelBudgetRepo(db),
    auditLog: new AuditRepo(db),
  };
  await ensureProxyBudget(stores.users, config, log).catch((err: Error) => log.warn(`the proxy budget (litellm_settings.max_budget) could not be written (${err.message}); it holds as the database last had it`));
  const cacheOpts = { serveStale: config.allowRequestsOnDbUnavailable };
  const keyCache = new KeyCache(repo, cacheOpts);
  const users = new RecordCache('user', (id) => stores.users.get(id), cacheOpts);
  const teams = new RecordCache('team', (id) => stores.teams.get(id), cacheOpts);
  const orgs = new RecordCache('organization', (id) => stores.orgs.get(id), cacheOpts);
  const members = new RecordCache('team membership', (ref) => stores.teams.member(...memberIds(ref)), cacheOpts);
  const keyModels = new RecordCache('model budget of a key', (ref) => stores.keyModels.get(ref), cacheOpts);
  const customers = new CustomerPolicy(
    () => stores.customers.withPolicy(),
    (id) => stores.customers.get(id),
  );
  await customers.reloadAll().catch((err: Error) => log.warn(`customers could not be read (${err.message}); blocked customers are refused once the database answers`));
  // (before the shared budgets are read: the config's tags' budget rows are among them)
  await ensureTagBudgets(stores, config, log).catch((err: Error) => log.warn(`tag budgets of the config could not be written (${err.message}); they hold as the database last had them`));
  const budgets = new SharedBudgets(() => stores.budgets.list(), (id) => stores.budgets.get(id));
  await budgets.reloadAll().catch((err: Error) => log.warn(`shared budgets could not be read (${err.message}); they hold once the database answers`));
  const tags = new TagBudgets(() => stores.tags.withBudget(), (name) => stores.tags.get(name));
  await tags.reloadAll().catch((err: Error) => log.warn(`tags could not be read (${err.message}); their budgets hold once the database answers`));
  const caches: Record<string, RecordCache<{ spend_nanos: number }>> = { user: users, team: teams, org: orgs, member: members, key_model: keyModels };
  // Records changed on another instance are read again at once.
  await db.onChanged((changed) => {
    // A budget period that another instance started: the spend this one has not written yet is the old period's.
    const ref = changed.startsWith('reset:') ? changed.slice('reset:'.length) : changed;
    if (ref !== changed) limiter.resetSpend(ref);
    if (ref === '*') {
      for (const c of [keyCache, users, teams, orgs, members]) c.delete('*');
      customers.reloadAll().catch(() => {});
      budgets.reloadAll().catch(() => {});
      tags.reloadAll().catch(() => {});
      return;
    }
    const colon = ref.indexOf(':');
    const kind = colon > 0 ? ref.slice(0, colon) : '';
    if (kind === 'customer') customers.reload(ref.slice(colon + 1)).catch(() => {});
    else if (kind === 'budget') budgets.reload(ref.slice(colon + 1)).catch(() => {});
    else if (kind === 'tag') tags.reload(ref.slice(colon + 1)).catch(() => {});
    else if (caches[kind]) caches[kind].delete(ref.slice(colon + 1));
    else keyCache.delete(ref);
  });
  const limiter = new MemoryLimiter();
  const local = new LocalCounters(limiter);
  const recorded = freshSpend(
    {
      key: (t) => stores.keys.get(t),
      user: (id) => stores.users.get(id),
      team: (id) => stores.teams.get(id),
      org: (id) => stores.orgs.get(id),
      customer: (id) => stores.customers.get(id),
      member: (t, u) => stores.teams.member(t, u),
      tag: (name) => stores.tags.get(name),
      keyModel: (ref) => stores.keyModels.get(ref),
    },
    budgets,
  );
  // (`ledger` is made below; a check runs seconds after the first call, long after it exists)
  const recordedSpend = (b: BudgetCounter) =>
    ledger.steady(async () => {
      // While no batch is being written: none is then both in the database and in this instance's pending spend.
      const s = await recorded(b.scope, b.period);
      return s === null ? null : s + limiter.pending(b.scope);
    });
  const redis = config.redisUrl ? new RedisCounters({ url: config.redisUrl, failure: config.redisFailureMode, log, recordedSpend }, local) : null;
  if (redis) {
    await redis.start();
    if (!redis.connected) log.warn(`Redis (${redisAddress(config.redisUrl!)}) does not answer yet: ${config.redisFailureMode === 'open' ? 'each instance keeps its own limits and budgets' : 'calls with limits or budgets are refused'} until it does`);
  }
  const ledger = new Ledger({
    db,
    journal: new Journal(opts.journalDir),
    log,
    intervalMs: opts.flushIntervalMs,
    createCustomers: config.trackCustomers,
    proxyBudgetUser: config.proxyBudget ? PROXY_BUDGET_ID : null,
    onApplied: (batch) => {
      for (const [token, nanos] of batch.keySpend) {
        limiter.spendWritten(token, nanos);
        keyCache.addSpend(token, nanos);
      }
      for (const [scope, nanos] of batch.entityCost) limiter.spendWritten(scope, nanos);
      for (const [scope, nanos] of batch.entitySpend) {
        const colon = scope.indexOf(':');
        const kind = scope.slice(0, colon);
        if (kind === 'customer') customers.addSpend(scope.slice(colon + 1), nanos);
        else if (kind === 'tag') tags.addSpend(scope.slice(colon + 1), nanos);
        else caches[kind]?.addSpend(scope.slice(colon + 1), nanos);
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
    // Credentials exchanged for tokens get their first one now, so no call waits for it.
    d.tokens?.warm();
    if (!d.upstreamModel.includes('*') && prices.priceFor(d, d.upstreamModel).source === 'none') {
      log.warn(`model "${d.modelName}" (${d.provider}/${d.upstreamModel}) has no known price: it is metered at 0; set input_cost_per_token / output_cost_per_token`);
    }
  }
  const cooldowns = new Cooldowns(config.cooldowns);
  redis?.shareCooldowns(cooldowns);
  const router = new Router(config.deployments, {
    ...config.routing,
    costOf: (d) => {
      const p = prices.priceFor(d, d.upstreamModel);
      // (a deployment without a known price is not the cheapest: it is last)
      return p.source === 'none' ? Infinity : p.input + p.output;
    },
  });
  if (router.stats) redis?.shareRouterStats(router.stats);
  const cached = config.cache ? await responseCache(config.cache, log) : null;
  const cache = cached?.cache ?? null;
  const healthChecks = config.healthCheckIntervalMs ? new HealthChecks(config.deployments, checkDeployment, cooldowns, config.healthCheckIntervalMs, config.cooldowns.cooldownMs) : null;
  const metrics = new Metrics();
  const alertSender = config.alerts ? new AlertSender(config.alerts, log, opts.alertRetryMs) : null;
  const alerts = config.alerts
    ? new BudgetAlerts({ thresholds: config.alerts.thresholds, claims: new AlertClaimRepo(db), sender: alertSender!, metrics, log })
    : null;
  const sessionRepo = new SessionRepo(db);
  const sessions = new UiSessions(sessionRepo, {
    username: opts.ui?.username || 'admin',
    password: opts.ui?.password || opts.masterKey,
    ttlMs: opts.ui?.sessionTtlMs ?? UI_SESSION_TTL_MS,
  }, stores.users);
  const ctx: PipelineContext = {
    config,
    router,
    cache,
    healthChecks,
    cooldowns,
    keyCache,
    users,
    teams,
    orgs,
    members,
    customers,
    budgets,
    tags,
    keyModels,
    ensureKeyModel: (token, model, duration) => stores.keyModels.ensure(token, model, duration, config.timezone),
    accessGroups: accessGroupsOf(config.deployments),
    isMaster: makeMasterKeyCheck(opts.masterKey),
    prices,
    limiter,
    counters: redis ?? local,
    expectedOutput: new ExpectedOutput(),
    alerts,
    alertSender,
    ledger,
    responses: new ResponseStore(db, log),
    metrics,
    log,
    accessLog: opts.accessLog ?? accessLogVia(log),
    sessions,
  };
  const periods = [
    budgetPeriods({ repo, cache: keyCache, idOf: (k) => k.token, scopeOf: (token) => token }),
    budgetPeriods({ repo: stores.users, cache: users, idOf: (u) => u.user_id, scopeOf: (id) => `user:${id}` }),
    budgetPeriods({ repo: stores.teams, cache: teams, idOf: (t) => t.team_id, scopeOf: (id) => `team:${id}` }),
    budgetPeriods({ repo: stores.keyModels, cache: keyModels, idOf: (r) => r.ref, scopeOf: (ref) => `key_model:${ref}` }),
    sharedBudgetPeriods({
      db,
      repo: stores.budgets,
      budgets,
      forget: (scope) => {
        const colon = scope.indexOf(':');
        if (scope.startsWith('org:')) orgs.delete(scope.slice(colon + 1));
        else if (scope.startsWith('member:')) members.delete(scope.slice(colon + 1));
        else if (scope.startsWith('tag:')) tags.reload(scope.slice(colon + 1)).catch(() => {});
        else if (scope.startsWith('customer:')) customers.reload(scope.slice(colon + 1)).catch(() => {});
      },
      announce: (budgetId) => void db.notifyChanged(`budget:${budgetId}`).catch(() => {}),
    }),
  ];
  // A period started here starts on every instance at once (the database's notification).
  const resets = {
    resetSpend(scope: string) {
      limiter.resetSpend(scope);
      db.notifyChanged(`reset:${scope}`).catch(() => {});
    },
  };
  await resetDueBudgets(periods, resets, config.timezone).catch((err) => log.warn({ err }, 'budget resets will be retried'));
  const stopResets = scheduleBudgetResets(periods, resets, config.timezone, log, opts.budgetResetEveryMs);
  const stopSpendPruning = config.spendLogsRetention ? schedulePruning(db, config.spendLogsRetention, log) : () => {};
  const stopResponsePruning = scheduleResponsePruning(ctx.responses, config.responsesRetention, log);
  const stopPruning = () => {
    stopSpendPruning();
    stopResponsePruning();
  };
  const chat = (path: string): Route => ({ dialect: 'openai', endpoint: 'chat/completions', path });
  const embeddings = (path: string): Route => ({ dialect: 'openai', endpoint: 'embeddings', path });
  const rerank = (path: string): Route => ({ dialect: 'openai', endpoint: 'rerank', path });
  const llmRoutes: [string, Route | 'count_tokens'][] = [
    ['/chat/completions', chat('/chat/completions')],
    ['/v1/chat/completions', chat('/v1/chat/completions')],
    ['/embeddings', embeddings('/embeddings')],
    ['/v1/embeddings', embeddings('/v1/embeddings')],
    // OpenAI's legacy completions.
    ['/completions', { dialect: 'openai', endpoint: 'completions', path: '/completions' }],
    ['/v1/completions', { dialect: 'openai', endpoint: 'completions', path: '/v1/completions' }],
    // LiteLLM's rerank routes (Cohere's request and answer shape).
    ['/rerank', rerank('/rerank')],
    ['/v1/rerank', rerank('/v1/rerank')],
    ['/v2/rerank', rerank('/v2/rerank')],
    // Anthropic's Messages API (Claude Code adds ?beta=true, which the router ignores).
    ['/v1/messages', { dialect: 'anthropic', endpoint: 'messages', path: '/v1/messages' }],
    ['/v1/messages/count_tokens', 'count_tokens'],
    // OpenAI's Responses API (Codex, the Agents SDK, responses.create).
    ['/v1/responses', { dialect: 'responses', endpoint: 'responses', path: '/v1/responses' }],
    ['/responses', { dialect: 'responses', endpoint: 'responses', path: '/responses' }],
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
  const admin = makeAdmin(ctx, db, stores);
  registerKeyRoutes(server, admin);
  registerUserRoutes(server, admin);
  registerTeamRoutes(server, admin);
  registerOrganizationRoutes(server, admin);
  registerCustomerRoutes(server, admin);
  registerTagRoutes(server, admin);
  registerBudgetRoutes(server, admin);
  registerAuditRoutes(server, admin);
  registerModelRoutes(server, ctx);
  registerSpendRoutes(server, admin);
  registerHealthRoutes(server, admin);
  registerCacheRoutes(server, admin);
  registerResponseRoutes(server, ctx);
  registerUiRoutes(server, admin, sessions);
  const sweepSessions = setInterval(() => {
    sessionRepo.deleteExpired(new Date().toISOString()).catch(() => {});
  }, 3600_000);
  sweepSessions.unref();
  healthChecks?.start();
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
      await healthChecks?.stop();
      await ctx.responses.flush();
      await ledger.close();
      opts.unlockJournal?.();
      // Alerts of the last calls get a moment to reach their webhooks.
      await alertSender?.drain(2_000);
      await redis?.close();
      await cached?.close();
      await closeAgents();
      await db.close();
    },
  };
}
