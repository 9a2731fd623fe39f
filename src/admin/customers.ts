// /customer/* (and /end_user/*, LiteLLM's older names): the customers requests are made for. A blocked
// customer's requests are refused; customers named by requests are tracked (spend per customer)
// unless litellm_settings.disable_end_user_cost_tracking is set.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import type { CustomerRecord } from '../store/customers.ts';
import { UniqueViolation } from '../store/db.ts';
import { parseBody } from './body.ts';
import { BudgetFields, hasBudgetFields, upsertBudget, type BudgetInput } from './budgets.ts';
import { type Admin, liveSpend } from './context.ts';
import { customerJson } from './shapes.ts';

const customerId = z.string({ error: 'is required' }).min(1, 'is required').max(512);
const CustomerFields = {
  alias: z.string().max(256).nullish(),
  blocked: z.boolean().nullish(),
  budget_id: z.string().min(1).nullish(),
  allowed_model_region: z.enum(['eu', 'us'], { error: 'must be eu or us' }).nullish(),
  default_model: z.string().min(1).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  ...BudgetFields,
};
const notBoth = (b: { budget_id?: string | null } & BudgetInput) => !(b.budget_id && hasBudgetFields(b));
const bothMessage = { message: "Set either 'max_budget' or 'budget_id', not both.", path: ['budget_id'] };
const NewBody = z.looseObject({ user_id: customerId, ...CustomerFields }).refine(notBoth, bothMessage);
const UpdateBody = z.looseObject({ user_id: customerId, ...CustomerFields }).refine(notBoth, bothMessage);
const IdsBody = z.looseObject({ user_ids: z.array(customerId, { error: 'is required (a list of customer ids)' }).min(1, 'give at least one customer id') });
const InfoQuery = z.object({ end_user_id: customerId });
const ListQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(1000),
});

const ROUTES = ['/customer', '/end_user'] as const;

export function registerCustomerRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx } = admin;
  const json = async (c: CustomerRecord) => customerJson(ctx, c, c.budget_id ? await admin.budgets.get(c.budget_id) : undefined);
  const changed = (c: CustomerRecord | null, id: string) => admin.changed({ kind: 'customer', id, record: c });
  const notFound = (id: string, param: string) => new GatewayError('not_found', `End User Id=${id} does not exist in db`, { param });
  const checkRefs = async (b: { budget_id?: string | null; default_model?: string | null }) => {
    if (b.budget_id && !(await admin.budgets.get(b.budget_id))) throw new GatewayError('bad_request', `budget_id: no budget "${b.budget_id}".`, { param: 'budget_id' });
    if (b.default_model && !ctx.router.resolve(b.default_model)) {
      throw new GatewayError('bad_request', `default_model: no model group "${b.default_model}" on this gateway.`, { param: 'default_model' });
    }
  };

  for (const base of ROUTES) {
    // The permission table names the /customer routes; /end_user ones are the same routes.
    const perm = (name: string) => `/customer/${name}`;

    app.post(`${base}/new`, async (req) => {
      const actor = await admin.actor(req.headers, perm('new'));
      const body = parseBody(NewBody, req.body);
      await checkRefs(body);
      if (await admin.customers.get(body.user_id)) {
        throw new GatewayError('bad_request', `Customer already exists, passed user_id=${body.user_id}. Please pass a new user_id.`, { param: 'user_id' });
      }
      const budgetId = hasBudgetFields(body) ? (await upsertBudget(admin, actor, null, body)).budget_id : (body.budget_id ?? null);
      const now = new Date().toISOString();
      const c: CustomerRecord = {
        user_id: body.user_id,
        alias: body.alias ?? null,
        blocked: body.blocked ?? false,
        budget_id: budgetId,
        allowed_model_region: body.allowed_model_region ?? null,
        default_model: body.default_model ?? null,
        metadata: body.metadata ?? {},
        spend_nanos: 0,
        created_at: now,
        updated_at: now,
      };
      try {
        await admin.customers.insert(c);
      } catch (err) {
        if (err instanceof UniqueViolation) throw new GatewayError('bad_request', `Customer already exists, passed user_id=${c.user_id}. Please pass a new user_id.`, { param: 'user_id' });
        throw err;
      }
      changed(c, c.user_id);
      const out = await json(c);
      await admin.audit(actor, perm('new'), 'created', 'customer', c.user_id, null, out);
      return out;
    });

    app.get(`${base}/info`, liveSpend(admin, async (req) => {
      await admin.actor(req.headers, perm('info'));
      const q = parseBody(InfoQuery, req.query);
      const c = await admin.customers.get(q.end_user_id);
      if (!c) throw notFound(q.end_user_id, 'end_user_id');
      return json(c);
    }));

    app.post(`${base}/update`, async (req) => {
      const actor = await admin.actor(req.headers, perm('update'));
      const body = parseBody(UpdateBody, req.body);
      const current = await admin.customers.get(body.user_id);
      if (!current) throw notFound(body.user_id, 'user_id');
      await checkRefs(body);
      let budgetId = body.budget_id === undefined ? current.budget_id : body.budget_id;
      if (hasBudgetFields(body)) budgetId = (await upsertBudget(admin, actor, budgetId, body)).budget_id;
      const changes: Partial<CustomerRecord> = { budget_id: budgetId, updated_at: new Date().toISOString() };
      if (body.alias !== undefined) changes.alias = body.alias;
      // `blocked: false` unblocks (LiteLLM drops a false here; this gateway does what it says).
      if (body.blocked != null) changes.blocked = body.blocked;
      if (body.allowed_model_region !== undefined) changes.allowed_model_region = body.allowed_model_region;
      if (body.default_model !== undefined) changes.default_model = body.default_model;
      if (body.metadata !== undefined) changes.metadata = body.metadata ?? {};
      const before = await json(current);
      const updated = (await admin.customers.update(current.user_id, changes))!;
      changed(updated, updated.user_id);
      const after = await json(updated);
      await admin.audit(actor, perm('update'), 'updated', 'customer', updated.user_id, before, after);
      return after;
    });

    app.post(`${base}/delete`, async (req) => {
      const actor = await admin.actor(req.headers, perm('delete'));
      const body = parseBody(IdsBody, req.body);
      const found = await admin.customers.getMany(body.user_ids);
      const missing = body.user_ids.filter((id) => !found.some((c) => c.user_id === id));
      if (missing.length) throw new GatewayError('not_found', `End User Id(s)=${missing.join(',')} do not exist in db`, { param: 'user_ids' });
      const n = await admin.customers.delete(body.user_ids);
      for (const c of found) {
        changed(null, c.user_id);
        await admin.audit(actor, perm('delete'), 'deleted', 'customer', c.user_id, await json(c), null);
      }
      return { deleted_customers: n, message: `Successfully deleted customers with ids: ${JSON.stringify(body.user_ids)}` };
    });

    app.get(`${base}/list`, liveSpend(admin, async (req) => {
      await admin.actor(req.headers, perm('list'));
      const q = parseBody(ListQuery, req.query);
      return Promise.all((await admin.customers.list(q.page, q.page_size)).map(json));
    }));

    for (const [name, blocked] of [['block', true], ['unblock', false]] as const) {
      app.post(`${base}/${name}`, async (req) => {
        const actor = await admin.actor(req.headers, perm(name));
        const body = parseBody(IdsBody, req.body);
        const out = [];
        for (const id of body.user_ids) {
          const current = await admin.customers.get(id);
          const now = new Date().toISOString();
          let c: CustomerRecord;
          if (current) c = (await admin.customers.update(id, { blocked, updated_at: now }))!;
          else {
            // Blocking a customer not seen yet creates it, blocked (as LiteLLM does); unblocking one is a no-op.
            c = { user_id: id, alias: null, blocked, budget_id: null, allowed_model_region: null, default_model: null, metadata: {}, spend_nanos: 0, created_at: now, updated_at: now };
            if (blocked) await admin.customers.insert(c).catch(async (err) => {
              if (!(err instanceof UniqueViolation)) throw err;
              c = (await admin.customers.update(id, { blocked, updated_at: now }))!;
            });
          }
          changed(c, id);
          await admin.audit(actor, perm(name), blocked ? 'blocked' : 'unblocked', 'customer', id, current ? { blocked: current.blocked } : null, { blocked });
          out.push(await json(c));
        }
        return blocked ? { blocked_users: out } : { unblocked_users: out };
      });
    }
  }
}
