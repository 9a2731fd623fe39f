// /key/* : LiteLLM's key management contract. Keys are stored as SHA-256 hashes; the raw key is
// shown once, by /key/generate and /key/regenerate. Endpoints that take a key accept it raw or hashed.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { generateKey, hashKey, keyName, looksLikeHash, looksLikeKey } from '../auth/keys.ts';
import { GatewayError } from '../http/errors.ts';
import { nanosToUsd, usdToNanos } from '../metering/money.ts';
import { authenticate } from '../pipeline/authenticate.ts';
import type { Headers, PipelineContext } from '../pipeline/context.ts';
import { UniqueViolation } from '../store/db.ts';
import type { KeyRecord, KeyRepo } from '../store/keys.ts';
import type { Db } from '../store/db.ts';
import { requireMaster } from './auth.ts';
import { parseBody } from './body.ts';
import { addDuration, isDuration } from './durations.ts';

const duration = () =>
  z.string().refine(isDuration, 'must be a duration such as 30s, 30m, 1h, 1d, 7d or 1mo').nullish();
const limit = () => z.number().int('must be a whole number').min(0, 'must be 0 or more').nullish();
const usd = () => z.number().min(0, 'must be 0 or more').nullish();

/** Fields a key can be created or updated with; anything else is kept as given in `extra`. */
const KeyFields = {
  models: z.array(z.string()).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  max_budget: usd(),
  soft_budget: usd(),
  budget_duration: duration(),
  duration: duration(),
  key_alias: z.string().min(1, 'must not be empty').max(256).nullish(),
  user_id: z.string().nullish(),
  team_id: z.string().nullish(),
  tpm_limit: limit(),
  rpm_limit: limit(),
  max_parallel_requests: limit(),
  blocked: z.boolean().nullish(),
  aliases: z.record(z.string(), z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
  model_rpm_limit: z.record(z.string(), z.number().int().min(0)).nullish(),
  model_tpm_limit: z.record(z.string(), z.number().int().min(0)).nullish(),
};
const KNOWN = new Set([...Object.keys(KeyFields), 'key', 'new_key', 'keys', 'key_aliases']);

const keyValue = z.string({ error: 'is required' }).min(1, 'is required');
const customKey = z
  .string()
  .refine(looksLikeKey, 'must start with sk- and be 8 to 256 printable characters without spaces')
  .nullish();

const GenerateBody = z.looseObject({ ...KeyFields, key: customKey });
const UpdateBody = z.looseObject({ ...KeyFields, key: keyValue });
const RegenerateBody = z.looseObject({ ...KeyFields, key: keyValue.optional(), new_key: customKey });
const KeyOnlyBody = z.looseObject({ key: keyValue });
const DeleteBody = z
  .looseObject({ keys: z.array(z.string()).nullish(), key_aliases: z.array(z.string()).nullish() })
  .refine((b) => (b.keys?.length ?? 0) + (b.key_aliases?.length ?? 0) > 0, { message: 'give keys or key_aliases', path: ['keys'] });
const ListQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: z.coerce.number().int().min(1).max(100).default(10),
  user_id: z.string().optional(),
  team_id: z.string().optional(),
  key_alias: z.string().optional(),
  key_hash: z.string().optional(),
  return_full_object: z.enum(['true', 'false']).optional(),
  sort_order: z.enum(['asc', 'desc']).default('desc'),
});

type Fields = z.infer<z.ZodObject<typeof KeyFields>>;

/** The hash a key is stored under, from the raw key or the hash itself. */
function tokenOf(value: string): string {
  return looksLikeHash(value) ? value : hashKey(value);
}

function nanosOrNull(v: number | null | undefined): number | null | undefined {
  return v === undefined ? undefined : v === null ? null : usdToNanos(v);
}

/** Record changes from API fields: only the fields given; `null` clears. */
function changesFrom(body: Fields & Record<string, unknown>, now: Date, current: KeyRecord | null): Partial<KeyRecord> {
  const c: Partial<KeyRecord> = {};
  const set = <K extends keyof KeyRecord>(k: K, v: KeyRecord[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  set('models', body.models === null ? [] : body.models);
  set('metadata', body.metadata === null ? {} : body.metadata);
  set('aliases', body.aliases === null ? {} : body.aliases);
  set('tags', body.tags);
  set('key_alias', body.key_alias);
  set('user_id', body.user_id);
  set('team_id', body.team_id);
  set('max_budget_nanos', nanosOrNull(body.max_budget));
  set('soft_budget_nanos', nanosOrNull(body.soft_budget));
  set('tpm_limit', body.tpm_limit);
  set('rpm_limit', body.rpm_limit);
  set('max_parallel_requests', body.max_parallel_requests);
  set('model_rpm_limit', body.model_rpm_limit);
  set('model_tpm_limit', body.model_tpm_limit);
  if (body.blocked !== undefined) c.blocked = body.blocked === true;
  if (body.budget_duration !== undefined) {
    c.budget_duration = body.budget_duration;
    c.budget_reset_at = body.budget_duration ? addDuration(now, body.budget_duration).toISOString() : null;
    c.budget_period_start = body.budget_duration ? now.toISOString() : null;
  }
  if (body.duration !== undefined) c.expires = body.duration ? addDuration(now, body.duration).toISOString() : null;
  const extra: Record<string, unknown> = { ...(current?.extra ?? {}) };
  let extraChanged = false;
  for (const [k, v] of Object.entries(body)) {
    if (!KNOWN.has(k) && v !== undefined) {
      extra[k] = v;
      extraChanged = true;
    }
  }
  if (extraChanged) c.extra = extra;
  return c;
}

/** A key as LiteLLM's /key/info shows it (money in USD). */
export function keyJson(k: KeyRecord, pendingNanos = 0): Record<string, unknown> {
  return {
    ...k.extra,
    token: k.token,
    key_name: k.key_name,
    key_alias: k.key_alias,
    spend: nanosToUsd(k.spend_nanos + pendingNanos),
    max_budget: k.max_budget_nanos === null ? null : nanosToUsd(k.max_budget_nanos),
    soft_budget: k.soft_budget_nanos === null ? null : nanosToUsd(k.soft_budget_nanos),
    budget_duration: k.budget_duration,
    budget_reset_at: k.budget_reset_at,
    expires: k.expires,
    models: k.models,
    aliases: k.aliases,
    config: k.extra.config ?? {},
    permissions: k.extra.permissions ?? {},
    metadata: k.metadata,
    tags: k.tags,
    user_id: k.user_id,
    team_id: k.team_id,
    max_parallel_requests: k.max_parallel_requests,
    tpm_limit: k.tpm_limit,
    rpm_limit: k.rpm_limit,
    model_rpm_limit: k.model_rpm_limit,
    model_tpm_limit: k.model_tpm_limit,
    blocked: k.blocked,
    created_by: k.created_by,
    updated_by: k.updated_by,
    created_at: k.created_at,
    updated_at: k.updated_at,
  };
}

function generatedJson(k: KeyRecord, raw: string, duration: string | null | undefined): Record<string, unknown> {
  return { ...keyJson(k), key: raw, token_id: k.token, duration: duration ?? null };
}

async function findKey(repo: KeyRepo, value: string): Promise<KeyRecord> {
  const k = await repo.get(tokenOf(value));
  if (!k) throw new GatewayError('not_found', 'Key not found.', { param: 'key' });
  return k;
}

async function checkAliasFree(repo: KeyRepo, alias: string | null | undefined, self: string | null): Promise<void> {
  if (!alias) return;
  const other = await repo.getByAlias(alias);
  if (other && other.token !== self) throw new GatewayError('bad_request', `Key alias "${alias}" is already in use.`, { param: 'key_alias' });
}

export function registerKeyRoutes(app: FastifyInstance, ctx: PipelineContext, repo: KeyRepo, db: Db): void {
  // This instance's cache at once, and every other instance on the database through a notification.
  const changed = (token: string, k: KeyRecord | null) => {
    ctx.keyCache.set(token, k);
    db.notifyKeyChanged(token).catch((err) => ctx.log.warn({ err }, 'could not tell other instances of a key change'));
  };
  const cacheSet = (k: KeyRecord) => changed(k.token, k);

  app.post('/key/generate', async (req) => {
    await requireMaster(ctx, req.headers, '/key/generate');
    const body = parseBody(GenerateBody, req.body);
    const raw = body.key ?? generateKey();
    const now = new Date();
    await checkAliasFree(repo, body.key_alias, null);
    const record: KeyRecord = {
      token: hashKey(raw),
      key_name: keyName(raw),
      key_alias: null,
      models: [],
      aliases: {},
      metadata: {},
      tags: null,
      user_id: null,
      team_id: null,
      spend_nanos: 0,
      max_budget_nanos: null,
      soft_budget_nanos: null,
      budget_duration: null,
      budget_reset_at: null,
      budget_period_start: null,
      expires: null,
      tpm_limit: null,
      rpm_limit: null,
      max_parallel_requests: null,
      model_rpm_limit: null,
      model_tpm_limit: null,
      blocked: false,
      extra: {},
      created_by: 'master_key',
      updated_by: 'master_key',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      ...changesFrom(body, now, null),
    };
    try {
      await repo.insert(record);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', 'This key (or its alias) already exists.', { param: 'key' });
      throw err;
    }
    cacheSet(record);
    return generatedJson(record, raw, body.duration);
  });

  app.get('/key/info', async (req) => {
    const principal = await authenticate(ctx, req.headers);
    const asked = (req.query as { key?: string }).key;
    if (principal.kind === 'key') {
      if (asked !== undefined && tokenOf(asked) !== principal.token) {
        throw new GatewayError('admin_only', 'A virtual key may only read its own /key/info.');
      }
      const k = await findKey(repo, principal.token);
      return { key: asked ?? principal.token, info: keyJson(k, ctx.limiter.pending(k.token)) };
    }
    if (!asked) throw new GatewayError('bad_request', 'Give the key to look up: /key/info?key=sk-...', { param: 'key' });
    const k = await findKey(repo, asked);
    // Spend is current at once: the database's figure plus what the ledger has not written yet.
    return { key: asked, info: keyJson(k, ctx.limiter.pending(k.token)) };
  });

  app.post('/key/update', async (req) => {
    await requireMaster(ctx, req.headers, '/key/update');
    const body = parseBody(UpdateBody, req.body);
    const current = await findKey(repo, body.key);
    await checkAliasFree(repo, body.key_alias, current.token);
    const now = new Date();
    const updated = await repo.update(current.token, { ...changesFrom(body, now, current), updated_at: now.toISOString(), updated_by: 'master_key' });
    cacheSet(updated!);
    return { key: body.key, ...keyJson(updated!) };
  });

  app.post('/key/delete', async (req) => {
    await requireMaster(ctx, req.headers, '/key/delete');
    const body = parseBody(DeleteBody, req.body);
    const tokens: string[] = [];
    for (const k of body.keys ?? []) tokens.push((await findKey(repo, k)).token);
    for (const alias of body.key_aliases ?? []) {
      const k = await repo.getByAlias(alias);
      if (!k) throw new GatewayError('not_found', `No key has the alias "${alias}".`, { param: 'key_aliases' });
      tokens.push(k.token);
    }
    await repo.delete(tokens);
    for (const t of tokens) changed(t, null);
    return { deleted_keys: [...(body.keys ?? []), ...(body.key_aliases ?? [])] };
  });

  app.get('/key/list', async (req) => {
    await requireMaster(ctx, req.headers, '/key/list');
    const q = parseBody(ListQuery, req.query);
    const { keys, total } = await repo.list(q);
    return {
      keys: q.return_full_object === 'true' ? keys.map(keyJson) : keys.map((k) => k.token),
      total_count: total,
      current_page: q.page,
      total_pages: Math.ceil(total / q.size),
    };
  });

  const regenerate = async (headers: Headers, rawBody: unknown, pathKey: string | undefined) => {
    await requireMaster(ctx, headers, '/key/regenerate');
    const body = parseBody(RegenerateBody, rawBody);
    const which = pathKey ?? body.key;
    if (!which) throw new GatewayError('bad_request', 'key: is required', { param: 'key' });
    const current = await findKey(repo, which);
    await checkAliasFree(repo, body.key_alias, current.token);
    const raw = body.new_key ?? generateKey();
    const now = new Date();
    let updated: KeyRecord | undefined;
    try {
      updated = await repo.update(current.token, {
        ...changesFrom(body, now, current),
        token: hashKey(raw),
        key_name: keyName(raw),
        updated_at: now.toISOString(),
        updated_by: 'master_key',
      });
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', 'new_key already exists.', { param: 'new_key' });
      throw err;
    }
    changed(current.token, null);
    cacheSet(updated!);
    return generatedJson(updated!, raw, body.duration);
  };
  app.post('/key/regenerate', async (req) => regenerate(req.headers, req.body, undefined));
  app.post('/key/:key/regenerate', async (req) => regenerate(req.headers, req.body, (req.params as { key: string }).key));

  for (const [route, blocked] of [['/key/block', true], ['/key/unblock', false]] as const) {
    app.post(route, async (req) => {
      await requireMaster(ctx, req.headers, route);
      const body = parseBody(KeyOnlyBody, req.body);
      const current = await findKey(repo, body.key);
      const updated = await repo.update(current.token, { blocked, updated_at: new Date().toISOString(), updated_by: 'master_key' });
      cacheSet(updated!);
      return keyJson(updated!);
    });
  }
}
