// /budget/* : shared budgets (LiteLLM_BudgetTable) that organizations, customers and team and
// organization members point at by budget_id; also the inline budget fields other entities take.
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { nanosToUsd, usdToNanos } from '../metering/money.ts';
import type { BudgetLink, BudgetRecord } from '../store/budgets.ts';
import { UniqueViolation } from '../store/db.ts';
import type { Actor } from './access.ts';
import { parseBody } from './body.ts';
import type { Admin } from './context.ts';
import { nextReset } from '../policy/periods.ts';
import { isDuration } from './durations.ts';

export const duration = () => z.string().refine(isDuration, 'must be a duration such as 30s, 30m, 1h, 1d, 7d or 1mo').nullish();
export const limit = () => z.number().int('must be a whole number').min(0, 'must be 0 or more').nullish();
/** Per model group, its limit (model_rpm_limit, model_tpm_limit): `{"gpt-4o": 100}`. */
export const modelLimits = () => z.record(z.string(), z.number().int('must be a whole number').min(0, 'must be 0 or more')).nullish();
export const usd = () => z.number({ error: 'must be a number (USD)' }).min(0, 'cannot be negative').nullish();
/**
 * Per-model budgets are not enforced by this version: a non-empty value is refused rather than kept
 * and silently ignored. (An empty one, LiteLLM's default, is accepted.)
 */
export const modelMaxBudget = () =>
  z
    .record(z.string(), z.unknown())
    .nullish()
    .refine((v) => !v || Object.keys(v).length === 0, 'per-model budgets are held on keys in this version (model_max_budget of /key/generate or /key/update); leave it out here');

/** The budget fields LiteLLM takes inline on organizations, customers and budgets themselves. */
export const BudgetFields = {
  max_budget: usd(),
  soft_budget: usd(),
  max_parallel_requests: limit(),
  tpm_limit: limit(),
  rpm_limit: limit(),
  budget_duration: duration(),
  model_max_budget: modelMaxBudget(),
};
export type BudgetInput = { [K in keyof typeof BudgetFields]?: z.infer<(typeof BudgetFields)[K]> };

const nanos = (v: number | null | undefined) => (v === undefined ? undefined : v === null ? null : usdToNanos(v));
const usdOf = (v: number | null) => (v === null ? null : nanosToUsd(v));

/** Whether any budget field is given (then an inline budget row is made or changed). */
export function hasBudgetFields(b: BudgetInput): boolean {
  return (Object.keys(BudgetFields) as (keyof BudgetInput)[]).some((k) => b[k] !== undefined && b[k] !== null && k !== 'model_max_budget');
}

/** Budget row changes from API fields (only those given; null clears). */
export function budgetChanges(b: BudgetInput, now: Date, timeZone: string): Partial<BudgetRecord> {
  const c: Partial<BudgetRecord> = {};
  if (b.max_budget !== undefined) c.max_budget_nanos = nanos(b.max_budget)!;
  if (b.soft_budget !== undefined) c.soft_budget_nanos = nanos(b.soft_budget)!;
  if (b.max_parallel_requests !== undefined) c.max_parallel_requests = b.max_parallel_requests;
  if (b.tpm_limit !== undefined) c.tpm_limit = b.tpm_limit;
  if (b.rpm_limit !== undefined) c.rpm_limit = b.rpm_limit;
  if (b.budget_duration !== undefined) {
    c.budget_duration = b.budget_duration;
    c.budget_reset_at = b.budget_duration ? nextReset(b.budget_duration, now, timeZone).toISOString() : null;
    c.budget_period_start = b.budget_duration ? now.toISOString() : null;
  }
  return c;
}

export function budgetJson(b: BudgetRecord): Record<string, unknown> {
  return {
    budget_id: b.budget_id,
    max_budget: usdOf(b.max_budget_nanos),
    soft_budget: usdOf(b.soft_budget_nanos),
    max_parallel_requests: b.max_parallel_requests,
    tpm_limit: b.tpm_limit,
    rpm_limit: b.rpm_limit,
    model_max_budget: b.model_max_budget,
    budget_duration: b.budget_duration,
    budget_reset_at: b.budget_reset_at,
    created_at: b.created_at,
    created_by: b.created_by,
    updated_at: b.updated_at,
    updated_by: b.updated_by,
  };
}

/** A budget row for an entity's inline budget fields. */
export async function createBudget(admin: Admin, actor: Actor, fields: BudgetInput, id: string = randomUUID()): Promise<BudgetRecord> {
  const now = new Date();
  const b: BudgetRecord = {
    budget_id: id,
    max_budget_nanos: null,
    soft_budget_nanos: null,
    max_parallel_requests: null,
    tpm_limit: null,
    rpm_limit: null,
    model_max_budget: null,
    budget_duration: null,
    budget_reset_at: null,
    budget_period_start: null,
    created_by: actor.name,
    updated_by: actor.name,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    ...budgetChanges(fields, now, admin.ctx.config.timezone),
  };
  await admin.budgets.insert(b);
  admin.changed({ kind: 'budget', id: b.budget_id, record: b });
  return b;
}

/** An entity's budget row with the given fields changed, made when it has none. */
export async function upsertBudget(admin: Admin, actor: Actor, budgetId: string | null, fields: BudgetInput): Promise<BudgetRecord> {
  const current = budgetId ? await admin.budgets.get(budgetId) : undefined;
  if (!current) return createBudget(admin, actor, fields, budgetId ?? undefined);
  const now = new Date();
  const b = (await admin.budgets.update(current.budget_id, { ...budgetChanges(fields, now, admin.ctx.config.timezone), updated_by: actor.name, updated_at: now.toISOString() }))!;
  admin.changed({ kind: 'budget', id: b.budget_id, record: b });
  return b;
}

const NewBody = z.looseObject({ budget_id: z.string().min(1, 'must not be empty').nullish(), ...BudgetFields });
const UpdateBody = z.looseObject({ budget_id: z.string({ error: 'is required' }).min(1, 'is required'), ...BudgetFields });
const InfoBody = z.looseObject({ budgets: z.array(z.string(), { error: 'is required (a list of budget ids)' }).min(1, 'give at least one budget id') });
const DeleteBody = z.looseObject({ id: z.string({ error: 'is required' }).min(1, 'is required') });
const SettingsQuery = z.object({ budget_id: z.string({ error: 'is required' }).min(1, 'is required') });

/** /budget/settings: each field with its description, as LiteLLM's dashboard reads them. */
const SETTINGS: [keyof BudgetInput, string, string][] = [
  ['max_budget', 'Float', 'Requests will fail if this budget (in USD) is exceeded.'],
  ['soft_budget', 'Float', 'Requests will NOT fail if this is exceeded. Will fire alerting though.'],
  ['max_parallel_requests', 'Integer', 'Max concurrent requests allowed for this budget id.'],
  ['tpm_limit', 'Integer', 'Max tokens per minute, allowed for this budget id.'],
  ['rpm_limit', 'Integer', 'Max requests per minute, allowed for this budget id.'],
  ['budget_duration', 'String', "Max duration budget should be set for (e.g. '1hr', '1d', '28d')"],
];

function linkedJson(links: BudgetLink[] | undefined): BudgetLink[] {
  return links ?? [];
}

export function registerBudgetRoutes(app: FastifyInstance, admin: Admin): void {
  const find = async (id: string, param = 'budget_id') => {
    const b = await admin.budgets.get(id);
    if (!b) throw new GatewayError('not_found', `Budget "${id}" not found.`, { param });
    return b;
  };

  app.post('/budget/new', async (req) => {
    const route = '/budget/new';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(NewBody, req.body);
    let b: BudgetRecord;
    try {
      b = await createBudget(admin, actor, body, body.budget_id ?? undefined);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new GatewayError('bad_request', `Budget with id '${body.budget_id}' already exists.`, { param: 'budget_id' });
      throw err;
    }
    await admin.audit(actor, route, 'created', 'budget', b.budget_id, null, budgetJson(b));
    return budgetJson(b);
  });

  app.post('/budget/update', async (req) => {
    const route = '/budget/update';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(UpdateBody, req.body);
    const current = await find(body.budget_id);
    const now = new Date();
    const b = (await admin.budgets.update(current.budget_id, { ...budgetChanges(body, now, admin.ctx.config.timezone), updated_by: actor.name, updated_at: now.toISOString() }))!;
    admin.changed({ kind: 'budget', id: b.budget_id, record: b });
    await admin.audit(actor, route, 'updated', 'budget', b.budget_id, budgetJson(current), budgetJson(b));
    return budgetJson(b);
  });

  app.post('/budget/info', async (req) => {
    await admin.actor(req.headers, '/budget/info');
    const body = parseBody(InfoBody, req.body);
    return (await admin.budgets.getMany(body.budgets)).map(budgetJson);
  });

  app.get('/budget/list', async (req) => {
    await admin.actor(req.headers, '/budget/list');
    const budgets = await admin.budgets.list();
    const links = await admin.budgets.links(budgets.map((b) => b.budget_id));
    return budgets.map((b) => ({ ...budgetJson(b), linked_entities: linkedJson(links.get(b.budget_id)) }));
  });

  app.get('/budget/settings', async (req) => {
    await admin.actor(req.headers, '/budget/settings');
    const q = parseBody(SettingsQuery, req.query);
    const b = await admin.budgets.get(q.budget_id);
    const json = b ? budgetJson(b) : {};
    return SETTINGS.map(([field_name, field_type, field_description]) => ({
      field_name,
      field_type,
      field_description,
      field_value: json[field_name] ?? null,
      stored_in_db: true,
      field_default_value: null,
    }));
  });

  app.post('/budget/delete', async (req) => {
    const route = '/budget/delete';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(DeleteBody, req.body);
    const b = await find(body.id, 'id');
    const used = (await admin.budgets.links([b.budget_id])).get(b.budget_id);
    if (used?.length) {
      const names = used.slice(0, 5).map((l) => `${l.entity_type} ${l.entity_id}`).join(', ');
      throw new GatewayError('bad_request', `Budget "${b.budget_id}" is still used by ${names}${used.length > 5 ? ', ...' : ''}; detach it first.`, { param: 'id' });
    }
    await admin.budgets.delete([b.budget_id]);
    admin.changed({ kind: 'budget', id: b.budget_id, record: null });
    await admin.audit(actor, route, 'deleted', 'budget', b.budget_id, budgetJson(b), null);
    return budgetJson(b);
  });
}
