// Admin bodies: JSON parsed and validated with zod; the first issue becomes a 400 naming the field.
import { z } from 'zod';
import { GatewayError } from '../http/errors.ts';
import { formatPath } from '../config/load.ts';
import { parseJsonObject } from '../dialects/openai-chat.ts';

export function parseBody<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const obj = Buffer.isBuffer(raw) ? (raw.length > 0 ? parseJsonObject(raw) : {}) : (raw ?? {});
  const r = schema.safeParse(obj);
  if (r.success) return r.data;
  const issue = deepest(r.error.issues[0]!);
  const param = formatPath(issue.path);
  throw new GatewayError('bad_request', `${param}: ${issue.message}`, { param });
}

/**
 * A union that matched no option reports the option that got furthest into the value (a member
 * object with a bad role says `member.role`, not "must be a member or a list of them").
 */
function deepest(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue | undefined;
  for (const option of issue.errors) {
    const first = option[0];
    if (first && first.path.length > 0 && (!best || first.path.length > best.path.length)) best = first;
  }
  return best ? deepest({ ...best, path: [...issue.path, ...best.path] }) : issue;
}

/** An optional date in a query (YYYY-MM-DD or an ISO time), as an ISO time. */
export const isoDate = () =>
  z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), 'must be a date (YYYY-MM-DD or ISO time)')
    .transform((v) => new Date(v).toISOString())
    .optional();
