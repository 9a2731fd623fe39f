// /key/* : LiteLLM's key management contract. Keys are stored as SHA-256 hashes; the raw key is
// shown once, by /key/generate and /key/regenerate. Endpoints that take a key accept it raw or hashed.
// Who may manage which key is the permission table's (access.ts); what a caller may put on a key
// (models, owners, limits on their own keys) is checked here.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { generateKey, hashKey, keyName, looksLikeKey, tokenOf } from '../auth/keys.ts';
import { KEY_TYPE_ROUTES } from '../auth/routes.ts';
import { GatewayError } from '../http/errors.ts';
import { nanosToUsd, usdToNanos } from '../metering/money.ts';
import type { Headers } from '../pipeline/context.ts';
import { listAllows } from '../policy/model-access.ts';
import { UniqueViolation } from '../store/db.ts';
import type { KeyRecord } from '../store/keys.ts';
import { keyModelRef, type ModelBudget } from '../store/key-models.ts';
import type { TeamRecord } from '../store/teams.ts';
import { authorize, describeActor, grantFor, isAdmin, scopeOf, type Actor, type Target } from './access.ts';
import { parseBody } from './body.ts';
import { duration, limit, modelLimits } from './budgets.ts';
import { type Admin, liveSpend } from './context.ts';
import { addDuration, isDuration } from './durations.ts';
import { extraChanges, periodChanges } from './changes.ts';
import { CONTROLS as CACHE_CONTROLS } from '../cache/response-cache.ts';

const usd = () => z.number().min(0, 'must be 0 or more').nullish();

/**
 * Per-model budgets, as LiteLLM takes them: `{"gpt-4o": {"budget_limit": 5, "time_period": "1d"}}`
 * (also `max_budget` and `budget_duration`), kept in LiteLLM's names. A budget needs its period:
 * LiteLLM ignores one without it, which would leave a limit that holds nothing.
 */
const keyModelBudgets = () =>
  z
    .record(
      z.string().min(1, 'a model name must not be empty'),
      z
        .looseObject({
          budget_limit: z.coerce.number<unknown>().min(0, 'must be 0 or more USD').optional(),
          max_budget: z.coerce.number<unknown>().min(0, 'must be 0 or more USD').optional(),
          time_period: z.string().refine(isDuration, 'must be a duration such as 1h, 1d, 7d or 1mo').optional(),
          budget_duration: z.string().refine(isDuration, 'must be a duration such as 1h, 1d, 7d or 1mo').optional(),
        })
        .refine((b) => b.budget_limit !== undefined || b.max_budget !== undefined, { message: 'is required (USD)', path: ['budget_limit'] })
        .refine((b) => b.time_period !== undefined || b.budget_duration !== undefined, { message: 'is required (a duration such as 1d or 1mo)', path: ['time_period'] })
        .transform((b): ModelBudget => ({ budget_limit: (b.budget_limit ?? b.max_budget)!, time_period: (b.time_period ?? b.budget_duration)! })),
    )
    .nullish()
    .transform((v) => (v && Object.keys(v).length ? v : v === undefined ? undefined : null));

/** Fields a key can be created or updated with; anything else is kept as given in `extra`. */
const KeyFields = {
  models: z.array(z.string()).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  max_budget: usd(),
  soft_budget: usd(),
  budget_duration: duration(),
  duration: duration(),
  key_alias: z.string().min(1, 'must not be empty').max(256).nullish(),
  user_id: z.string().min(1, 'must not be empty').nullish(),
  team_id: z.string().min(1, 'must not be empty').nullish(),
  organization_id: z.string().min(1, 'must not be empty').nullish(),
  budget_id: z.string().min(1, 'must not be empty').nullish(),
  tpm_limit: limit(),
  rpm_limit: limit(),
  max_parallel_requests: limit(),
  blocked: z.boolean().nullish(),
  aliases: z.record(z.string(), z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
  model_rpm_limit: modelLimits(),
  model_tpm_limit: modelLimits(),
  key_type: z.enum(['llm_api', 'management', 'read_only', 'default']).nullish(),
  allowed_routes: z.array(z.string().min(1, 'must not be empty')).nullish(),
  model_max_budget: keyModelBudgets(),
};
const KNOWN = new Set([...Object.keys(KeyFields), 'key', 'new_key', 'keys', 'key_aliases']);

const keyValue = z.string({ error: 'is required' }).min(1, 'is required');
const customKey = z
  .string()
  .refine(looksLikeKey, 'must start with sk- and be 8 to 256 printable characters without spaces')
  .nullish();

/** allowed_cache_controls (kept with the key's other LiteLLM fields, in `extra`): a list of the cache's control names. */
const cacheControlsOk = (b: Record<string, unknown>) =>
  b.allowed_cache_controls === undefined || b.allowed_cache_controls === null || (Array.isArray(b.allowed_cache_controls) && b.allowed_cache_controls.every((c) => (CACHE_CONTROLS as readonly unknown[]).includes(c)));
const cacheControlsError = { message: `must be a list of cache controls (${CACHE_CONTROLS.join(', ')})`, path: ['allowed_cache_controls'] };
const GenerateBody = z.looseObject({ ...KeyFields, key: customKey }).refine(cacheControlsOk, cacheControlsError);
const UpdateBody = z.looseObject({ ...KeyFields, key: keyValue }).refine(cacheControlsOk, cacheControlsError);
const RegenerateBody = z.looseObject({ ...KeyFields, key: keyValue.optional(), new_key: customKey }).refine(cacheControlsOk, cacheControlsError);
const KeyOnlyBody = z.looseObject({ key: keyValue });
const DeleteBody = z
  .looseObject({ keys: z.array(z.string()).nullish(), key_aliases: z.array(z.string()).nullish() })
  .refine((b) => (b.keys?.length ?? 0) + (b.key_aliases?.length ?? 0) > 0, { message: 'give keys or key_aliases', path: ['keys'] });
const ListQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: z.coerce.number().int().min(1).max(100).default(10),
  user_id: z.string().optional(),
  team_id: z.string().optional(),
  organization_id: z.string().optional(),
  key_alias: z.string().optional(),
  key_hash: z.string().optional(),
  return_full_object: z.enum(['true', 'false']).optional(),
  sort_order: z.enum(['asc', 'desc']).default('desc'),
});

type Fields = z.infer<z.ZodObject<typeof KeyFields>>;

function nanosOrNull(v: number | null | undefined): number | null | undefined {
  return v === undefined ? undefined : v === null ? null : usdToNanos(v);
}

/** Record changes from API fields: only the fields given; `null` clears. */
function changesFrom(body: Fields & Record<string, unknown>, now: Date, current: KeyRecord | null, timeZone: string): Partial<KeyRecord> {
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
  set('organization_id', body.organization_id);
  set('budget_id', body.budget_id);
  set('max_budget_nanos', nanosOrNull(body.max_budget));
  set('soft_budget_nanos', nanosOrNull(body.soft_budget));
  set('tpm_limit', body.tpm_limit);
  set('rpm_limit', body.rpm_limit);
  set('max_parallel_requests', body.max_parallel_requests);
  set('model_rpm_limit', body.model_rpm_limit);
  set('model_tpm_limit', body.model_tpm_limit);
  set('model_max_budget', body.model_max_budget);
  set('key_type', body.key_type);
  // A key_type stands for its routes, as in LiteLLM, unless the routes are given too.
  if (body.allowed_routes !== undefined) c.allowed_routes = body.allowed_routes?.length ? body.allowed_routes : null;
  else if (body.key_type !== undefined) c.allowed_routes = KEY_TYPE_ROUTES[body.key_type ?? 'default'] ?? null;
  if (body.blocked !== undefined) c.blocked = body.blocked === true;
  if (body.budget_duration !== undefined) Object.assign(c, periodChanges(body.budget_duration, now, timeZone));
  if (body.duration !== undefined) c.expires = body.duration ? addDuration(now, body.duration).toISOString() : null;
  const extra = extraChanges(body, KNOWN, current?.extra);
  if (extra) c.extra = extra;
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
    organization_id: k.organization_id,
    budget_id: k.budget_id,
    max_parallel_requests: k.max_parallel_requests,
    tpm_limit: k.tpm_limit,
    rpm_limit: k.rpm_limit,
    model_rpm_limit: k.model_rpm_limit,
    model_tpm_limit: k.model_tpm_limit,
    blocked: k.blocked,
    model_max_budget: k.model_max_budget ?? {},
    key_type: k.key_type ?? 'default',
    allowed_routes: k.allowed_routes ?? [],
    created_by: k.created_by,
    updated_by: k.updated_by,
    created_at: k.created_at,
    updated_at: k.updated_at,
  };
}

function generatedJson(k: KeyRecord, raw: string, duration: string | null | undefined): Record<string, unknown> {
  return { ...keyJson(k), key: raw, token_id: k.token, duration: duration ?? null };
}

/** The entities a key belongs to, as the permission table checks them. */
export function keyTarget(k: Pick<KeyRecord, 'token' | 'user_id' | 'team_id' | 'organization_id'>, team: TeamRecord | null | undefined): Target {
  return { keyToken: k.token, userId: k.user_id, teamIds: [k.team_id], orgIds: [k.organization_id ?? team?.organization_id] };
}

/** Fields a caller may only lower (or set where there was none) on a key they hold only as its owner. */
const OWN_LIMITS = ['max_budget_nanos', 'soft_budget_nanos', 'tpm_limit', 'rpm_limit', 'max_parallel_requests'] as const;
const FIELD_NAMES: Record<string, string> = {
  max_budget_nanos: 'max_budget',
  soft_budget_nanos: 'soft_budget',
  expires: 'duration',
};

export function registerKeyRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx, keys: repo } = admin;
  const cacheSet = (k: KeyRecord) => admin.changed({ kind: 'key', id: k.token, record: k });
  /** Brings the key's per-model budget rows in line with its model_max_budget, here and on every instance. */
  const syncModelBudgets = async (k: KeyRecord) => {
    for (const ref of await admin.keyModels.sync(k.token, k.model_max_budget, ctx.config.timezone)) admin.changed({ kind: 'key_model', id: ref, record: null });
  };
  /** `model_max_budget_usage`, as LiteLLM's /key/info shows it: each model budget's spend in its period, live. */
  const modelBudgetUsage = async (k: KeyRecord) => {
    const out: Record<string, unknown> = {};
    if (!k.model_max_budget) return out;
    const rows = await admin.keyModels.forKeys([k.token]);
    for (const [model, b] of Object.entries(k.model_max_budget)) {
      const row = rows.find((r) => r.budget_model === model);
      const spent = (row?.spend_nanos ?? 0) + ctx.limiter.pending(`key_model:${keyModelRef(k.token, model)}`);
      out[model] = { current_spend: nanosToUsd(spent), budget_limit: b.budget_limit, time_period: b.time_period, budget_reset_at: row?.budget_reset_at ?? null };
    }
    return out;
  };

  const findKey = async (value: string): Promise<KeyRecord> => {
    const k = await repo.get(tokenOf(value));
    if (!k) throw new GatewayError('not_found', 'Key not found.', { param: 'key' });
    return k;
  };
  const teamOf = async (teamId: string | null | undefined, param = 'team_id'): Promise<TeamRecord | null> => {
    if (!teamId) return null;
    const team = await admin.teams.get(teamId);
    if (!team) throw new GatewayError('bad_request', `${param}: no team "${teamId}"; create it with /team/new first.`, { param });
    return team;
  };
  const checkAliasFree = async (alias: string | null | undefined, self: string | null): Promise<void> => {
    if (!alias) return;
    const other = await repo.getByAlias(alias);
    if (other && other.token !== self) throw new GatewayError('bad_request', `Key alias "${alias}" is already in use.`, { param: 'key_alias' });
  };
  const refuse = (actor: Actor, route: string, what: string): never => {
    throw new GatewayError('admin_only', `Not allowed: ${route} ${what}. You are ${describeActor(actor)}.`);
  };

  /**
   * What a key is to be (its record after the change) is checked against what the caller may hand
   * out: owners it may act for, models within its team's (or user's) and organization's, a shared
   * budget only from a proxy admin. On a key the caller holds only as its owner, limits may only
   * be tightened and the key may not be unblocked.
   */
  const checkKeyContents = async (actor: Actor, route: string, next: KeyRecord, current: KeyRecord | null, team: TeamRecord | null) => {
    if (next.organization_id && !(await admin.orgs.get(next.organization_id))) {
      throw new GatewayError('bad_request', `organization_id: no organization "${next.organization_id}".`, { param: 'organization_id' });
    }
    if (team?.organization_id && next.organization_id && team.organization_id !== next.organization_id) {
      throw new GatewayError('bad_request', `organization_id: team "${team.team_id}" belongs to organization "${team.organization_id}".`, { param: 'organization_id' });
    }
    if (next.budget_id && !(await admin.budgets.get(next.budget_id))) {
      throw new GatewayError('bad_request', `budget_id: no budget "${next.budget_id}".`, { param: 'budget_id' });
    }
    if (isAdmin(actor)) {
      if (next.user_id && !(await admin.users.get(next.user_id))) {
        // A key for a user not created yet: LiteLLM creates the user, and so does this gateway.
        const now = new Date().toISOString();
        const user = {
          user_id: next.user_id, user_email: null, user_alias: null, user_role: 'internal_user', models: [], metadata: {}, spend_nanos: 0,
          max_budget_nanos: null, soft_budget_nanos: null, budget_duration: null, budget_reset_at: null, budget_period_start: null,
          tpm_limit: null, rpm_limit: null, max_parallel_requests: null, model_max_budget: null, password_hash: null, extra: {},
          created_by: actor.name, updated_by: actor.name, created_at: now, updated_at: now,
        };
        await admin.users.insert(user).catch((err) => {
          if (!(err instanceof UniqueViolation)) throw err;
        });
      }
      return;
    }
    const target = keyTarget(next, team);
    const grant = grantFor(actor, route, target);
    if (!grant) refuse(actor, route, `may not make a key for ${next.team_id ? `team ${next.team_id}` : `user ${next.user_id ?? '(none)'}`}`);
    if (next.user_id && next.user_id !== actor.userId) {
      // For someone else: a member of the key's team, by an admin of that team (or its organization).
      if (!next.team_id || !(await admin.teams.member(next.team_id, next.user_id))) {
        refuse(actor, route, `may not make a key for user ${next.user_id}, who is not a member of ${next.team_id ? `team ${next.team_id}` : 'its team'}`);
      }
    }
    if (grant === 'own' && next.team_id && !actor.teams.has(next.team_id)) refuse(actor, route, `may not make a key for team ${next.team_id}: you are not a member`);
    if (next.budget_id !== (current?.budget_id ?? null)) refuse(actor, route, 'may not attach a shared budget (budget_id): only a proxy admin can');
    const owner = next.user_id ? (next.user_id === actor.userId ? actor.user : await admin.users.get(next.user_id)) : null;
    const org = next.organization_id ?? team?.organization_id ?? null;
    const orgModels = org ? ((await admin.orgs.get(org))?.models ?? []) : [];
    for (const m of next.models) {
      if (m === 'all-team-models' && team) continue;
      const ok = (team ? listAllows(team.models, m, ctx.accessGroups) : listAllows((owner?.models ?? []).filter((x) => x !== 'no-default-models'), m, ctx.accessGroups)) && listAllows(orgModels, m, ctx.accessGroups);
      if (!ok) throw new GatewayError('admin_only', `Not allowed: model "${m}" is not one the key's ${team ? 'team' : 'user'} may use.`, { param: 'models' });
    }
    if (grant !== 'own' || !current) return;
    // The caller's own key: tighten only.
    for (const f of OWN_LIMITS) {
      const was = current[f];
      const now = next[f];
      if (was !== null && (now === null || now > was)) refuse(actor, route, `may not raise ${FIELD_NAMES[f] ?? f} of your own key`);
    }
    if (current.expires !== null && (next.expires === null || next.expires > current.expires)) refuse(actor, route, 'may not extend the expiry (duration) of your own key');
    if (current.blocked && !next.blocked) refuse(actor, route, 'may not unblock your own key');
    for (const [model, was] of Object.entries(current.model_max_budget ?? {})) {
      const now = next.model_max_budget?.[model];
      if (!now || now.budget_limit > was.budget_limit || now.time_period !== was.time_period) refuse(actor, route, `may not raise, remove or change the model_max_budget of your own key for ${model}`);
    }
    const wasRoutes = current.allowed_routes ?? [];
    const nowRoutes = next.allowed_routes ?? [];
    if (wasRoutes.length && (nowRoutes.length === 0 || nowRoutes.some((r) => !wasRoutes.includes(r)))) {
      refuse(actor, route, 'may not widen the allowed_routes (or key_type) of your own key');
    }
    if (current.models.length && (next.models.length === 0 || next.models.some((m) => !current.models.includes(m)))) {
      refuse(actor, route, 'may not add models to your own key');
    }
    // (the response cache's controls a key may use: empty is all of them)
    const controls = (k: typeof current) => (Array.isArray(k.extra.allowed_cache_controls) ? (k.extra.allowed_cache_controls as unknown[]) : []);
    const wasControls = controls(current);
    const nowControls = controls(next);
    if (wasControls.length && (nowControls.length === 0 || nowControls.some((c) => !wasControls.includes(c)))) {
      refuse(actor, route, 'may not widen the allowed_cache_controls of your own key');
    }
  };

  const generate = async (headers: Headers, rawBody: unknown) => {
    const route = '/key/generate';
    const actor = await admin.actor(headers, route);
    const body = parseBody(GenerateBody, rawBody);
    const raw = body.key ?? generateKey();
    const now = new Date();
    await checkAliasFree(body.key_alias, null);
    const team = await teamOf(body.team_id);
    // A non-admin's key is their own unless they make it for their team (as its admin).
    const forTeam = team !== null && (actor.teamAdmin.has(team.team_id) || (team.organization_id !== null && actor.orgAdmin.has(team.organization_id)));
    const userId = body.user_id !== undefined || isAdmin(actor) || forTeam ? (body.user_id ?? null) : actor.userId;
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
      organization_id: null,
      budget_id: null,
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
      model_max_budget: null,
      blocked: false,
      key_type: null,
      allowed_routes: null,
      extra: {},
      created_by: actor.name,
      updated_by: actor.name,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      ...changesFrom(body, now, null, admin.ctx.config.timezone),
    };
    record.user_id = userId;
    record.organization_id ??= team?.organization_id ?? null;
    await checkKeyContents(actor, route, record, null, team);
    try {
      await repo.insert(record);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', 'This key (or its alias) already exists.', { param: 'key' });
      throw err;
    }
    cacheSet(record);
    if (record.model_max_budget) await syncModelBudgets(record);
    await admin.audit(actor, route, 'created', 'key', record.token, null, keyJson(record));
    return generatedJson(record, raw, body.duration);
  };
  app.post('/key/generate', async (req) => generate(req.headers, req.body));

  app.get('/key/info', liveSpend(admin, async (req) => {
    const route = '/key/info';
    const actor = await admin.actor(req.headers, route);
    const asked = (req.query as { key?: string }).key;
    if (!asked && !actor.keyToken) throw new GatewayError('bad_request', 'Give the key to look up: /key/info?key=sk-...', { param: 'key' });
    const k = await findKey(asked ?? actor.keyToken!);
    authorize(actor, route, keyTarget(k, await admin.teams.get(k.team_id ?? '')), 'this key');
    // Spend is current at once: the database's figure plus what the ledger has not written yet.
    return { key: asked ?? k.token, info: { ...keyJson(k, ctx.limiter.pending(k.token)), model_max_budget_usage: await modelBudgetUsage(k) } };
  }));

  const update = async (actor: Actor, route: string, current: KeyRecord, changes: Partial<KeyRecord>, teamId: string | null) => {
    const team = await teamOf(teamId);
    const next: KeyRecord = { ...current, ...changes };
    if (changes.team_id !== undefined && changes.organization_id === undefined) next.organization_id = team?.organization_id ?? null;
    authorize(actor, route, keyTarget(current, await admin.teams.get(current.team_id ?? '')), 'this key');
    await checkKeyContents(actor, route, next, current, team);
    return next;
  };

  app.post('/key/update', async (req) => {
    const route = '/key/update';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(UpdateBody, req.body);
    const current = await findKey(body.key);
    await checkAliasFree(body.key_alias, current.token);
    const now = new Date();
    const changes = { ...changesFrom(body, now, current, admin.ctx.config.timezone), updated_at: now.toISOString(), updated_by: actor.name };
    const next = await update(actor, route, current, changes, body.team_id === undefined ? current.team_id : body.team_id);
    const updated = await repo.update(current.token, { ...changes, organization_id: next.organization_id, user_id: next.user_id });
    cacheSet(updated!);
    if (changes.model_max_budget !== undefined) await syncModelBudgets(updated!);
    await admin.audit(actor, route, 'updated', 'key', current.token, keyJson(current), keyJson(updated!));
    return { key: body.key, ...keyJson(updated!) };
  });

  app.post('/key/delete', async (req) => {
    const route = '/key/delete';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(DeleteBody, req.body);
    const found: KeyRecord[] = [];
    for (const k of body.keys ?? []) found.push(await findKey(k));
    for (const alias of body.key_aliases ?? []) {
      const k = await repo.getByAlias(alias);
      if (!k) throw new GatewayError('not_found', `No key has the alias "${alias}".`, { param: 'key_aliases' });
      found.push(k);
    }
    // Every key is checked before any is deleted.
    for (const k of found) authorize(actor, route, keyTarget(k, await admin.teams.get(k.team_id ?? '')), `key ${k.key_alias ?? k.key_name}`);
    await repo.delete(found.map((k) => k.token));
    for (const k of found) {
      admin.changed({ kind: 'key', id: k.token, record: null });
      await admin.audit(actor, route, 'deleted', 'key', k.token, keyJson(k), null);
    }
    return { deleted_keys: [...(body.keys ?? []), ...(body.key_aliases ?? [])] };
  });

  app.get('/key/list', liveSpend(admin, async (req) => {
    const route = '/key/list';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(ListQuery, req.query);
    const scope = scopeOf(actor, route);
    const { keys, total } = await repo.list({ ...q, scope: scope.all ? undefined : scope });
    return {
      keys: q.return_full_object === 'true' ? keys.map((k) => keyJson(k, ctx.limiter.pending(k.token))) : keys.map((k) => k.token),
      total_count: total,
      current_page: q.page,
      total_pages: Math.ceil(total / q.size),
    };
  }));

  const regenerate = async (headers: Headers, rawBody: unknown, pathKey: string | undefined) => {
    const route = '/key/regenerate';
    const actor = await admin.actor(headers, route);
    const body = parseBody(RegenerateBody, rawBody);
    const which = pathKey ?? body.key;
    if (!which) throw new GatewayError('bad_request', 'key: is required', { param: 'key' });
    const current = await findKey(which);
    await checkAliasFree(body.key_alias, current.token);
    const raw = body.new_key ?? generateKey();
    const now = new Date();
    const changes = { ...changesFrom(body, now, current, admin.ctx.config.timezone), token: hashKey(raw), key_name: keyName(raw), updated_at: now.toISOString(), updated_by: actor.name };
    const next = await update(actor, route, current, changes, body.team_id === undefined ? current.team_id : body.team_id);
    let updated: KeyRecord | undefined;
    try {
      updated = await repo.update(current.token, { ...changes, organization_id: next.organization_id });
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', 'new_key already exists.', { param: 'new_key' });
      throw err;
    }
    admin.changed({ kind: 'key', id: current.token, record: null });
    cacheSet(updated!);
    // Its model budgets' spend stays with it, under its new hash.
    for (const ref of await admin.keyModels.rekey(current.token, updated!.token)) admin.changed({ kind: 'key_model', id: ref, record: null });
    if (changes.model_max_budget !== undefined) await syncModelBudgets(updated!);
    await admin.audit(actor, route, 'regenerated', 'key', updated!.token, keyJson(current), keyJson(updated!));
    return generatedJson(updated!, raw, body.duration);
  };
  app.post('/key/regenerate', async (req) => regenerate(req.headers, req.body, undefined));
  app.post('/key/:key/regenerate', async (req) => regenerate(req.headers, req.body, (req.params as { key: string }).key));

  for (const [route, blocked] of [['/key/block', true], ['/key/unblock', false]] as const) {
    app.post(route, async (req) => {
      const actor = await admin.actor(req.headers, route);
      const body = parseBody(KeyOnlyBody, req.body);
      const current = await findKey(body.key);
      authorize(actor, route, keyTarget(current, await admin.teams.get(current.team_id ?? '')), 'this key');
      const updated = await repo.update(current.token, { blocked, updated_at: new Date().toISOString(), updated_by: actor.name });
      cacheSet(updated!);
      await admin.audit(actor, route, blocked ? 'blocked' : 'unblocked', 'key', current.token, keyJson(current), keyJson(updated!));
      return keyJson(updated!);
    });
  }
}
