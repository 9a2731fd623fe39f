// The dashboard at /ui: its static files (plain ES modules, no build step; Preact with htm and uPlot
// served from node_modules), held in memory with their gzip, under a strict CSP; sign-in and the read
// models its pages need (keys by keyset, models with prices and health, usage). Changes go through
// the management API itself, with the session standing in for the master key.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { hashKey } from '../auth/keys.ts';
import { crossSite, UiSessions } from '../auth/session.ts';
import { GatewayError } from '../http/errors.ts';
import { nanosToUsd } from '../metering/money.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import type { KeyRepo } from '../store/keys.ts';
import type { UserRecord } from '../store/users.ts';
import type { Db } from '../store/db.ts';
import { usageReport } from '../store/spend.ts';
import { scopeOf } from './access.ts';
import { type Admin, liveSpend } from './context.ts';
import { parseBody } from './body.ts';
import { checkDeployment } from './health.ts';
import { keyJson } from './keys.ts';

const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));
const MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));
/** Library files the pages import, by the URL they import them from. */
const VENDOR: Record<string, string> = {
  'vendor/preact.js': 'htm/preact/standalone.module.js',
  'vendor/uplot.js': 'uplot/dist/uPlot.esm.js',
  'vendor/uplot.css': 'uplot/dist/uPlot.min.css',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface StaticFile {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

function staticFile(path: string): StaticFile {
  const body = readFileSync(path);
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
  };
}

/** Every file the dashboard serves, by its path under /ui/. */
export function loadUiFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(UI_DIR, path).split('\\').join('/'), staticFile(path));
    }
  };
  walk(UI_DIR);
  for (const [url, file] of Object.entries(VENDOR)) files.set(url, staticFile(join(MODULES, file)));
  return files;
}

const LoginBody = z.object({ username: z.string().max(200), password: z.string().max(1000) });

const KeysQuery = z.object({
  search: z.string().max(200).optional(),
  status: z.enum(['all', 'active', 'blocked', 'expired']).default('all'),
  after: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(25),
});

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), 'must be a date that exists');
const UsageQuery = z.object({ start: day, end: day, bucket: z.enum(['hour', 'day']).default('day') });

const cursorOf = (k: { created_at: string; token: string }) => Buffer.from(`${k.created_at}|${k.token}`).toString('base64url');
function parseCursor(c: string): { created_at: string; token: string } {
  const [created_at, token] = Buffer.from(c, 'base64url').toString('utf8').split('|');
  if (!created_at || !token) throw new GatewayError('bad_request', 'after: not a cursor from a previous page.', { param: 'after' });
  return { created_at, token };
}

const perMillion = (pico: number) => pico / 1e6;

/** Who is signed in, as the page needs it to show the pages their role may use. */
const sessionJson = (user: UserRecord | null, username: string, csrf: string) => ({
  username,
  user_id: user?.user_id ?? null,
  user_role: user?.user_role ?? 'proxy_admin',
  csrf,
});

const LOGIN_ATTEMPTS_PER_MINUTE = 10;

export function registerUiRoutes(app: FastifyInstance, admin: Admin, sessions: UiSessions): void {
  const { ctx, db, keys: repo } = admin;
  const files = loadUiFiles();

  const serve = (req: FastifyRequest, reply: FastifyReply, path: string) => {
    const file = files.get(path);
    if (!file) throw new GatewayError('not_found', `No dashboard file ${path}.`);
    reply.headers(SECURITY_HEADERS).header('content-type', file.type).header('etag', file.etag);
    // Vendor files change only with an install; the page's own files on every release.
    reply.header('cache-control', path.startsWith('vendor/') ? 'public, max-age=86400' : 'no-cache');
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding').send(file.gzip);
    }
    return reply.header('vary', 'accept-encoding').send(file.body);
  };
  app.get('/ui', (req, reply) => serve(req, reply, 'index.html'));
  app.get('/ui/*', (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    return serve(req, reply, path === '' ? 'index.html' : path);
  });

  // Secure cookies only where the browser came over HTTPS (a TLS proxy in front says so).
  const secure = (req: FastifyRequest) => req.headers['x-forwarded-proto'] === 'https';

  app.post('/ui/api/login', async (req, reply) => {
    const attempts = ctx.limiter.hitRequests(`ui-login:${req.ip}`, LOGIN_ATTEMPTS_PER_MINUTE, Date.now());
    if (!attempts.allowed) {
      const retry = Math.max(1, Math.ceil(attempts.retryAfterMs / 1000));
      throw new GatewayError('rate_limited', `Too many sign-in attempts: try again in ${retry} s.`, { headers: { 'retry-after': String(retry) } });
    }
    // Another site must not sign a visitor in (to an account of its choosing, or with guesses).
    if (crossSite(req.headers)) throw new GatewayError('cross_site', 'Cross-site request refused.');
    const body = parseBody(LoginBody, req.body);
    // The admin's credentials first; else a user's email (or user_id) and password.
    const isAdmin = sessions.credentialsMatch(body.username, body.password);
    const user = isAdmin ? null : await sessions.userMatching(body.username, body.password);
    if (!isAdmin && !user) throw new GatewayError('invalid_key', 'Invalid username or password.');
    const name = user ? (user.user_email ?? user.user_id) : body.username;
    const s = await sessions.start(name, user);
    reply.header('set-cookie', UiSessions.setCookie(s.id, s.maxAgeS, secure(req))).header('cache-control', 'no-store');
    return sessionJson(user, name, s.csrf);
  });
  app.get('/ui/api/session', async (req, reply) => {
    // Not CSRF-checked: this is how a reloaded page learns its token (another site cannot read it).
    const s = await sessions.verify(req.headers, { csrf: false });
    const user = s.user_id === null ? null : ((await admin.users.get(s.user_id)) ?? null);
    reply.header('cache-control', 'no-store');
    return sessionJson(user, s.username, s.csrf);
  });
  app.post('/ui/api/logout', async (req, reply) => {
    await sessions.verify(req.headers);
    await sessions.end(req.headers);
    reply.header('set-cookie', UiSessions.setCookie('', 0, secure(req)));
    return {};
  });

  app.get('/ui/api/keys', liveSpend(admin, async (req) => {
    const actor = await admin.actor(req.headers, '/ui/api/keys');
    const q = parseBody(KeysQuery, req.query);
    const scope = scopeOf(actor, '/ui/api/keys');
    const keys = await repo.page(
      {
        search: q.search,
        status: q.status,
        after: q.after ? parseCursor(q.after) : undefined,
        limit: q.limit + 1,
        now: new Date().toISOString(),
        scope: scope.all ? undefined : scope,
      },
      hashKey,
    );
    const page = keys.slice(0, q.limit);
    return { data: page.map((k) => keyJson(k, ctx.limiter.pending(k.token))), next: keys.length > q.limit ? cursorOf(page.at(-1)!) : null };
  }));

  app.get('/ui/api/models', async (req) => {
    await admin.actor(req.headers, '/ui/api/models');
    const groups = new Map<string, unknown[]>();
    for (const d of ctx.config.deployments) {
      const p = ctx.prices.priceFor(d, d.upstreamModel);
      const list = groups.get(d.modelName) ?? [];
      list.push({
        id: d.id,
        provider: d.provider,
        model: d.upstreamModel,
        api_base: d.publicApiBase,
        rpm: d.rpm,
        tpm: d.tpm,
        price:
          p.source === 'none'
            ? null
            : { input_per_mtok: perMillion(p.input), output_per_mtok: perMillion(p.output), cache_read_per_mtok: perMillion(p.cacheRead), cache_write_per_mtok: perMillion(p.cacheWrite) },
        price_source: p.source,
      });
      groups.set(d.modelName, list);
    }
    return { data: [...groups].map(([model_name, deployments]) => ({ model_name, deployments })) };
  });

  app.get('/ui/api/health', async (req) => {
    await admin.actor(req.headers, '/ui/api/health');
    const checks = await Promise.all(ctx.config.deployments.map(async (d) => ({ id: d.id, r: await checkDeployment(d) })));
    return { data: checks.map(({ id, r }) => ({ id, healthy: r.ok, ...(r.error ? { error: r.error } : {}) })) };
  });

  app.get('/ui/api/usage', async (req) => {
    const actor = await admin.actor(req.headers, '/ui/api/usage');
    const scope = scopeOf(actor, '/ui/api/usage');
    const q = parseBody(UsageQuery, req.query);
    if (q.end < q.start) throw new GatewayError('bad_request', 'end must not be before start.', { param: 'end' });
    await ctx.ledger.flush();
    const end = new Date(Date.parse(`${q.end}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const r = await usageReport(db, { start: `${q.start}T00:00:00Z`, end: `${end}T00:00:00Z`, bucket: q.bucket, scope: scope.all ? undefined : scope });
    const usd = <T extends { cost_nanos: number }>({ cost_nanos, ...rest }: T) => ({ ...rest, spend: nanosToUsd(cost_nanos) });
    const byKey = await Promise.all(
      r.byKey.map(async (k) => {
        const key = k.key_token ? await repo.get(k.key_token) : undefined;
        return { ...usd(k), token: k.key_token || 'master_key', key_alias: key?.key_alias ?? null, key_name: key?.key_name ?? (k.key_token ? 'deleted key' : 'master key'), tokens: k.input_tokens + k.output_tokens };
      }),
    );
    return {
      bucket: q.bucket,
      series: r.series.map((s) => ({ ...usd(s), t: q.bucket === 'day' ? `${s.t}T00:00:00Z` : s.t })),
      by_model: r.byModel.map((m) => ({ ...usd(m), tokens: m.input_tokens + m.output_tokens })),
      by_key: byKey,
      totals: usd(r.totals),
    };
  });
}
