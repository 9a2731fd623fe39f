// /tag/* : tags (LiteLLM_TagTable), the cost centers and projects requests name (metadata.tags,
// x-litellm-tags, their key's tags). A tag's budget (max_budget, budget_duration, ...) is a shared
// budget row, as an organization's; its spend is its own. Routing by a tag's models comes with
// tag-based routing: the models are kept and shown.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { UniqueViolation } from '../store/db.ts';
import type { TagRecord } from '../store/tags.ts';
import { parseBody } from './body.ts';
import { BudgetFields, hasBudgetFields, upsertBudget, type BudgetInput } from './budgets.ts';
import { type Admin, liveSpend } from './context.ts';
import { tagJson } from './shapes.ts';

const name = z.string({ error: 'is required' }).min(1, 'is required').max(256);
const TagFields = {
  description: z.string().max(1024).nullish(),
  models: z.array(z.string()).nullish(),
  budget_id: z.string().min(1).nullish(),
  ...BudgetFields,
};
const notBoth = (b: { budget_id?: string | null } & BudgetInput) => !(b.budget_id && hasBudgetFields(b));
const bothMessage = { message: "Set either 'max_budget' (and the other budget fields) or 'budget_id', not both.", path: ['budget_id'] };
const NewBody = z.looseObject({ name, ...TagFields }).refine(notBoth, bothMessage);
const UpdateBody = z.looseObject({ name, ...TagFields }).refine(notBoth, bothMessage);
const InfoBody = z.looseObject({ names: z.array(name, { error: 'is required (a list of tag names)' }).min(1, 'give at least one tag name') });
const DeleteBody = z.looseObject({ name });

export function registerTagRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx } = admin;
  const json = async (t: TagRecord) => tagJson(ctx, t, t.budget_id ? await admin.budgets.get(t.budget_id) : undefined);
  const changed = (t: TagRecord | null, id: string) => admin.changed({ kind: 'tag', id, record: t });
  const notFound = (n: string) => new GatewayError('not_found', `Tag ${n} not found`, { param: 'name' });
  const checkBudget = async (id: string | null | undefined) => {
    if (id && !(await admin.budgets.get(id))) throw new GatewayError('bad_request', `budget_id: no budget "${id}".`, { param: 'budget_id' });
  };

  app.post('/tag/new', async (req) => {
    const route = '/tag/new';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(NewBody, req.body);
    const exists = () => new GatewayError('bad_request', `Tag ${body.name} already exists`, { param: 'name' });
    if (await admin.tags.get(body.name)) throw exists();
    await checkBudget(body.budget_id);
    const budgetId = hasBudgetFields(body) ? (await upsertBudget(admin, actor, null, body)).budget_id : (body.budget_id ?? null);
    const now = new Date().toISOString();
    const t: TagRecord = {
      tag_name: body.name, description: body.description ?? null, models: body.models ?? [], budget_id: budgetId, spend_nanos: 0,
      created_by: actor.name, updated_by: actor.name, created_at: now, updated_at: now,
    };
    try {
      await admin.tags.insert(t);
    } catch (err) {
      if (err instanceof UniqueViolation) throw exists();
      throw err;
    }
    changed(t, t.tag_name);
    const out = await json(t);
    await admin.audit(actor, route, 'created', 'tag', t.tag_name, null, out);
    return { message: `Tag ${t.tag_name} created successfully`, tag: out };
  });

  app.post('/tag/update', async (req) => {
    const route = '/tag/update';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(UpdateBody, req.body);
    const current = await admin.tags.get(body.name);
    if (!current) throw notFound(body.name);
    await checkBudget(body.budget_id);
    let budgetId = body.budget_id === undefined ? current.budget_id : body.budget_id;
    if (hasBudgetFields(body)) budgetId = (await upsertBudget(admin, actor, budgetId, body)).budget_id;
    const changes: Partial<TagRecord> = { budget_id: budgetId, updated_by: actor.name, updated_at: new Date().toISOString() };
    if (body.description !== undefined) changes.description = body.description;
    if (body.models !== undefined) changes.models = body.models ?? [];
    const before = await json(current);
    const updated = (await admin.tags.update(current.tag_name, changes))!;
    changed(updated, updated.tag_name);
    const after = await json(updated);
    await admin.audit(actor, route, 'updated', 'tag', updated.tag_name, before, after);
    return { message: `Tag ${updated.tag_name} updated successfully`, tag: after };
  });

  app.post('/tag/info', liveSpend(admin, async (req) => {
    await admin.actor(req.headers, '/tag/info');
    const body = parseBody(InfoBody, req.body);
    const found = await admin.tags.getMany(body.names);
    const missing = body.names.filter((n) => !found.some((t) => t.tag_name === n));
    if (missing.length) throw new GatewayError('not_found', `Tags not found: ${JSON.stringify(missing)}`, { param: 'names' });
    const out: Record<string, unknown> = {};
    for (const t of found) out[t.tag_name] = await json(t);
    return out;
  }));

  app.get('/tag/list', liveSpend(admin, async (req) => {
    await admin.actor(req.headers, '/tag/list');
    const stored = await admin.tags.list();
    const names = new Set(stored.map((t) => t.tag_name));
    // Tags requests carried that have no row: their spend is counted all the same (LiteLLM lists them too).
    const seen = await admin.db.all<{ name: string; first: string; last: string }>(
      "SELECT entity_id AS name, MIN(hour) AS first, MAX(hour) AS last FROM llmproxy_spend_entity_hourly WHERE entity_kind = 'tag' GROUP BY entity_id ORDER BY entity_id",
    );
    return [
      ...(await Promise.all(stored.map(json))),
      ...seen
        .filter((s) => !names.has(s.name))
        .map((s) => ({ name: s.name, description: 'This is just a spend tag that was passed dynamically in a request. It does not control any LLM models.', models: null, created_at: s.first, updated_at: s.last })),
    ];
  }));

  app.post('/tag/delete', async (req) => {
    const route = '/tag/delete';
    const actor = await admin.actor(req.headers, route);
    const body = parseBody(DeleteBody, req.body);
    const current = await admin.tags.get(body.name);
    if (!current) throw notFound(body.name);
    const before = await json(current);
    await admin.tags.delete([current.tag_name]);
    changed(null, current.tag_name);
    await admin.audit(actor, route, 'deleted', 'tag', current.tag_name, before, null);
    return { message: `Tag ${current.tag_name} deleted successfully` };
  });
}
