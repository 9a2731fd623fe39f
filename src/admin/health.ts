// Health: liveliness (the process), readiness (the database), and /health, a cheap check of every
// deployment (its provider's model list, with its key), in LiteLLM's shape and without secrets.
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { Deployment } from '../config/load.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { RedisCounters } from '../policy/redis-counters.ts';
import { ANTHROPIC_VERSION, anthropicUrl } from '../providers/anthropic/request.ts';
import { azureAiUrl, azureModelsUrl } from '../providers/azure/target.ts';
import { signAws } from '../providers/bedrock/sign.ts';
import { bedrockHeaders, bedrockUrl } from '../providers/bedrock/target.ts';
import { setAuth } from '../providers/openai/request.ts';
import { geminiModelsUrl, geminiUrl } from '../providers/gemini/target.ts';
import { dispatcherFor } from '../providers/http-client.ts';
import type { Db } from '../store/db.ts';
import { VERSION } from '../version.ts';
import type { Admin } from './context.ts';
import { GatewayError } from '../http/errors.ts';
import type { AlertEvent } from '../telemetry/alert-sender.ts';

const TEST_ALERT: AlertEvent = {
  event: 'test',
  event_group: 'proxy',
  event_message: 'Test alert from llm-proxy (GET /health/services): alerts reach this webhook.',
  spend: 0, max_budget: null, soft_budget: null, threshold: null, budget_reset_at: null,
  token: null, key_alias: null, user_id: null, user_email: null, team_id: null, team_alias: null, organization_id: null, customer_id: null,
  projected_exceeded_date: null, projected_spend: null,
};

/**
 * Vertex AI: the credentials give a token, and a Gemini model counts the tokens of a word (free); Claude
 * and embedding models there have no such cheap call, so the token is their check.
 */
async function checkVertex(d: Deployment): Promise<{ ok: boolean; error?: string }> {
  let token: string;
  try {
    token = await d.tokens!.ready();
  } catch (err) {
    return { ok: false, error: `no access token: ${(err as Error).message}` };
  }
  if (d.wire !== 'gemini' || /embedding/.test(d.upstreamModel)) return { ok: true };
  const url = new URL(geminiUrl(d, 'countTokens', d.upstreamModel));
  return probe(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'ping' }] }] }),
  });
}

/**
 * Bedrock lists no models at its runtime address: the credentials give keys (or there is an API key),
 * and a one-token Converse call, signed as calls are, is the check (LiteLLM's health calls the model too).
 */
async function checkBedrock(d: Deployment): Promise<{ ok: boolean; error?: string }> {
  const aws = d.aws!;
  if (aws.signing) {
    try {
      await aws.signing.credentials.ready();
    } catch (err) {
      return { ok: false, error: `no AWS credentials: ${(err as Error).message}` };
    }
  }
  // (a wildcard has no model to ask; an embedding model takes no Converse call: the credentials are its check)
  if (aws.modelId === null || /titan-embed|cohere\.embed/.test(aws.model)) return { ok: true };
  const up = {
    url: bedrockUrl(d, 'converse', d.upstreamModel),
    headers: bedrockHeaders(d, false),
    body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'ping' }] }], inferenceConfig: { maxTokens: 1 } }),
    clientWantsUsage: false,
  };
  if (aws.signing) await signAws(up, aws.signing);
  return probe(new URL(up.url), { method: 'POST', headers: up.headers, body: up.body });
}

/** One cheap call to a provider, within a few seconds: a status below 400 is healthy. */
async function probe(url: URL, init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<{ ok: boolean; error?: string }> {
  const res = await request(url, {
    ...init,
    dispatcher: dispatcherFor(url.origin),
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
    signal: AbortSignal.timeout(6_000),
  });
  await res.body.dump();
  return res.statusCode < 400 ? { ok: true } : { ok: false, error: `status ${res.statusCode}` };
}

export async function checkDeployment(d: Deployment): Promise<{ ok: boolean; error?: string }> {
  try {
    if (d.google) return await checkVertex(d);
    if (d.aws) return await checkBedrock(d);
    if (d.wire === 'anthropic') return await probe(new URL(anthropicUrl(d.apiBase, 'models')), { headers: { 'anthropic-version': ANTHROPIC_VERSION, ...(d.apiKey ? { 'x-api-key': d.apiKey } : {}) } });
    if (d.wire === 'gemini') return await probe(new URL(geminiModelsUrl(d)), { headers: d.apiKey ? { 'x-goog-api-key': d.apiKey } : {} });
    if (d.wire === 'cohere') return await probe(new URL(`${d.apiBase.replace(/\/v[12](?:\/\w+)?$/, '')}/v1/models?page_size=1`), { headers: d.apiKey ? { authorization: `Bearer ${d.apiKey}` } : {} });
    // OpenAI's wire: the credential as calls send it (a token fetched first, if the deployment has none yet).
    await d.tokens?.ready();
    const headers: Record<string, string> = {};
    setAuth(headers, d);
    if (d.provider === 'azure_ai' && !d.upstreamModel.includes('*')) {
      // Foundry endpoints list no models: a one-token call is the check (LiteLLM's health calls the model too).
      return await probe(new URL(azureAiUrl(d, 'chat/completions')), {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ model: d.upstreamModel, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }),
      });
    }
    return await probe(new URL(d.provider === 'azure' ? azureModelsUrl(d) : `${d.apiBase}/models`), { headers });
  } catch (err) {
    return { ok: false, error: (err as { code?: string }).code ?? (err as Error).name };
  }
}

export function registerHealthRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx, db } = admin;
  app.get('/health/liveliness', async () => "I'm alive!");
  app.get('/health/liveness', async () => "I'm alive!");
  app.get('/health/readiness', async (_req, reply) => {
    // Redis away: a closed gateway refuses calls with limits (not ready); an open one serves them alone (degraded).
    const redis = ctx.counters instanceof RedisCounters ? ctx.counters : null;
    const shared = redis ? { cache: 'redis', redis: redis.connected ? 'connected' : 'disconnected' } : { cache: null };
    const down = redis !== null && !redis.connected;
    // (settings of the file this version does not act on: an operator sees them where health is checked)
    const ignored = ctx.config.ignoredSettings.length > 0 ? { ignored_settings: ctx.config.ignoredSettings } : {};
    // (background health checks: the deployments whose last check failed make the gateway degraded)
    // (a count only: this route is open to anyone; /health names them, for admins)
    const failing = ctx.healthChecks ? ctx.config.deployments.filter((d) => ctx.healthChecks!.results.get(d.id)?.ok === false) : [];
    Object.assign(shared, failing.length > 0 ? { unhealthy_deployments: failing.length } : {});
    try {
      await db.get('SELECT 1 AS ok');
    } catch {
      return reply.code(503).send({ status: 'unhealthy', db: 'disconnected', ...shared, ...ignored, litellm_version: VERSION });
    }
    if (down && redis.failureMode === 'closed') return reply.code(503).send({ status: 'unhealthy', db: 'connected', ...shared, ...ignored, litellm_version: VERSION });
    return { status: down || failing.length > 0 ? 'degraded' : 'healthy', db: 'connected', ...shared, ...ignored, litellm_version: VERSION };
  });
  // LiteLLM's check of an alerting integration: sends a test alert there now.
  app.get('/health/services', async (req) => {
    await admin.actor(req.headers, '/health/services');
    const service = (req.query as Record<string, unknown>).service;
    const sender = ctx.alertSender;
    const configured = sender?.targets().map((t) => t.name) ?? [];
    if (service !== 'webhook' && service !== 'slack') {
      throw new GatewayError('bad_request', `service must be one of: webhook, slack (the alerting targets of general_settings.alerting).`, { param: 'service' });
    }
    if (!sender || !configured.includes(service)) {
      const need = service === 'webhook' ? 'WEBHOOK_URL' : 'SLACK_WEBHOOK_URL';
      throw new GatewayError('bad_request', `service "${service}" is not configured: add it to general_settings.alerting and set ${need}.`, { param: 'service' });
    }
    const r = await sender.sendNow(service, TEST_ALERT);
    if (!r.ok) throw new GatewayError('upstream_error', `The test alert to ${service} was not taken: ${r.error}.`);
    return { status: 'success', message: `Test alert sent to ${service}; check that it arrived.` };
  });
  app.get('/health', async (req) => {
    await admin.actor(req.headers, '/health');
    // (with background checks, their last results: /health calls no provider then)
    const bg = ctx.healthChecks?.complete ? ctx.healthChecks.results : null;
    const checks = await Promise.all(ctx.config.deployments.map(async (d) => ({ d, r: bg?.get(d.id) ?? (await checkDeployment(d)) })));
    const entry = ({ d, r }: (typeof checks)[number]) => ({
      model: `${d.provider}/${d.upstreamModel}`,
      model_name: d.modelName,
      model_id: d.id,
      // (never a credential a URL may hold)
      api_base: d.publicApiBase,
      ...(r.error ? { error: r.error } : {}),
      ...('at' in r ? { last_checked_at: new Date(r.at as number).toISOString() } : {}),
    });
    const healthy = checks.filter((c) => c.r.ok).map(entry);
    const unhealthy = checks.filter((c) => !c.r.ok).map(entry);
    return { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length };
  });
}
