// Admin bodies: JSON parsed and validated with zod; the first issue becomes a 400 naming the field.
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { formatPath } from '../config/load.ts';
import { parseJsonObject } from '../dialects/openai-chat.ts';

export function parseBody<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const obj = Buffer.isBuffer(raw) ? (raw.length > 0 ? parseJsonObject(raw) : {}) : (raw ?? {});
  const r = schema.safeParse(obj);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = formatPath(issue.path);
  throw new GatewayError('bad_request', `${param}: ${issue.message}`, { param });
}

/** An optional date in a query (YYYY-MM-DD or an ISO time), as an ISO time. */
export const isoDate = () =>
  z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), 'must be a date (YYYY-MM-DD or ISO time)')
    .transform((v) => new Date(v).toISOString())
    .optional();
