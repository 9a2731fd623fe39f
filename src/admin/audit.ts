// /audit : the audit log of management writes, newest first, filtered and paginated (LiteLLM's
// LiteLLM_AuditLog fields). Values never hold a raw key or a password hash.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import type { AuditRecord } from '../store/audit.ts';
import { isoDate, parseBody } from './body.ts';
import type { Admin } from './context.ts';

const ListQuery = z.object({
  table_name: z.string().optional(),
  object_id: z.string().optional(),
  changed_by: z.string().optional(),
  action: z.string().optional(),
  start_date: isoDate(),
  end_date: isoDate(),
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(500).default(50),
});

function auditJson(r: AuditRecord): Record<string, unknown> {
  return {
    id: r.id,
    updated_at: r.changed_at,
    changed_by: r.changed_by,
    changed_by_role: r.changed_by_role,
    changed_by_api_key: r.changed_by_api_key,
    action: r.action,
    route: r.route,
    table_name: r.table_name,
    object_id: r.object_id,
    before_value: r.before_value,
    updated_values: r.updated_values,
  };
}

export function registerAuditRoutes(app: FastifyInstance, admin: Admin): void {
  app.get('/audit', async (req) => {
    await admin.actor(req.headers, '/audit');
    const q = parseBody(ListQuery, req.query);
    const { rows, total } = await admin.auditLog.list(q);
    return { audit_logs: rows.map(auditJson), total, page: q.page, page_size: q.page_size, total_pages: Math.ceil(total / q.page_size) };
  });

  app.get('/audit/:id', async (req) => {
    await admin.actor(req.headers, '/audit');
    const id = (req.params as { id: string }).id;
    const r = await admin.auditLog.get(id);
    if (!r) throw new GatewayError('not_found', `No audit log entry ${id}.`, { param: 'id' });
    return auditJson(r);
  });
}
