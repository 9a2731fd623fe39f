// /spend/logs and /global/spend, LiteLLM's shapes (money in USD at the edge). A caller who may not see
// everything sees the records of their own keys, and of the teams and organizations they administer.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hashKey, looksLikeHash } from '../auth/keys.ts';
import { nanosToUsd } from '../metering/money.ts';
import { globalSpendNanos, querySpendLogs, type SpendLogRow } from '../store/spend.ts';
import { scopeOf } from './access.ts';
import { isoDate, parseBody } from './body.ts';
import type { Admin } from './context.ts';

/** LiteLLM's names for the kinds of call in spend logs. */
const CALL_TYPES: Record<string, string> = { chat: 'acompletion', embeddings: 'aembedding', anthropic_messages: 'anthropic_messages', rerank: 'arerank', responses: 'aresponses', text_completion: 'atext_completion' };

const SpendLogsQuery = z.object({
  request_id: z.string().optional(),
  api_key: z.string().optional(),
  user_id: z.string().optional(),
  team_id: z.string().optional(),
  organization_id: z.string().optional(),
  end_user: z.string().optional(),
  customer_id: z.string().optional(),
  model: z.string().optional(),
  status: z.enum(['success', 'error']).optional(),
  start_date: isoDate(),
  end_date: isoDate(),
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(50),
});

export function spendLogJson(r: SpendLogRow): Record<string, unknown> {
  const prompt = r.input_tokens + r.cache_read_tokens + r.cache_write_tokens + r.cache_write_1h_tokens;
  return {
    request_id: r.request_id,
    upstream_request_id: r.upstream_id,
    call_type: CALL_TYPES[r.call_type] ?? r.call_type,
    api_key: r.key_token ?? 'master_key',
    user: r.user_id,
    team_id: r.team_id,
    organization_id: r.organization_id,
    end_user: r.end_user,
    model_group: r.model_group,
    model: r.model,
    model_id: r.deployment_id,
    custom_llm_provider: r.provider,
    prompt_tokens: prompt,
    completion_tokens: r.output_tokens,
    total_tokens: prompt + r.output_tokens,
    usage: {
      input_tokens: r.input_tokens,
      cache_read_tokens: r.cache_read_tokens,
      cache_write_tokens: r.cache_write_tokens,
      cache_write_1h_tokens: r.cache_write_1h_tokens,
      output_tokens: r.output_tokens,
      reasoning_tokens: r.reasoning_tokens,
    },
    spend: nanosToUsd(r.cost_nanos),
    status: r.status,
    http_status: r.http_status,
    error_type: r.error_type,
    stream: r.stream === 1,
    estimated: r.estimated === 1,
    latency_ms: r.latency_ms,
    time_to_first_token_ms: r.ttft_ms,
    request_tags: JSON.parse(r.tags),
    startTime: r.started_at,
    // (LiteLLM's spelling: a string)
    cache_hit: Number(r.cache_hit) === 1 ? 'True' : 'False',
  };
}

export function registerSpendRoutes(app: FastifyInstance, admin: Admin): void {
  const { ctx, db } = admin;
  app.get('/spend/logs', async (req) => {
    const route = '/spend/logs';
    const actor = await admin.actor(req.headers, route);
    const q = parseBody(SpendLogsQuery, req.query);
    const scope = scopeOf(actor, route);
    // Records still in the journal are written first, so a log asked for right after a call is there.
    await ctx.ledger.flush();
    // `master_key` is how the logs name the master key's calls (they have no key hash).
    const key = q.api_key === undefined ? undefined : q.api_key === 'master_key' ? null : looksLikeHash(q.api_key) ? q.api_key : hashKey(q.api_key);
    const { rows, total } = await querySpendLogs(db, {
      ...q,
      end_user: q.end_user ?? q.customer_id,
      key_token: key,
      scope: scope.all ? undefined : scope,
    });
    return { data: rows.map(spendLogJson), total, page: q.page, page_size: q.page_size, total_pages: Math.ceil(total / q.page_size) };
  });

  app.get('/global/spend', async (req) => {
    await admin.actor(req.headers, '/global/spend');
    await ctx.ledger.flush();
    return { spend: nanosToUsd(await globalSpendNanos(db)), max_budget: null };
  });
}
