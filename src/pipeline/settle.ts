// The end of every call, whatever the exit: usage to cost, the spend record to the ledger, the live
// counters updated, the lease given back.
import type { Principal } from '../auth/principal.ts';
import type { Deployment } from '../config/load.ts';
import type { GatewayError } from '../http/errors.ts';
import { costNanos } from '../metering/cost.ts';
import { CHARS_PER_TOKEN, countTokens, messagesText } from '../metering/estimate.ts';
import { NO_PRICE } from '../metering/prices.ts';
import type { SpendRecord } from '../metering/record.ts';
import { spendScopes } from '../store/ledger.ts';
import { PROXY_BUDGET_ID, PROXY_BUDGET_SCOPE } from '../policy/proxy-budget.ts';
import { EMPTY_USAGE, totalTokens, type UsageRecord } from '../metering/usage.ts';
import { callerOf, release, type Lease } from './admit.ts';
import { settleTokens, type DeploymentTokens } from './dispatch.ts';
import type { PipelineContext } from './context.ts';
import type { LlmRequest } from '../dialects/openai-chat.ts';

export interface Outcome {
  id: string;
  principal: Principal;
  call: LlmRequest | null;
  /** The customer the request names (customerOf). */
  customer: string | null;
  /** The call's tags (tagsOf). */
  tags: string[];
  callType: SpendRecord['call_type'];
  group: string;
  deployment: Deployment | null;
  /** The tokens the call holds in its deployment's tpm window (it has one). */
  deploymentTokens: DeploymentTokens | null;
  upstreamModel: string | null;
  upstreamId: string | null;
  /** The provider's usage, if it sent one, in the common record. */
  usage: UsageRecord | null;
  /** Generated characters seen in a stream, for an estimate when usage is missing. */
  outputChars: number;
  error: GatewayError | null;
  httpStatus: number;
  startedAt: number;
  startedWall: number;
  firstByteAt: number | null;
  /** Answered from the response cache: by this deployment once (no provider called now), billed this (0 unless count_hits_in_budgets). */
  cacheHit?: { deployment: string; costNanos: number } | null;
}

async function usageOf(o: Outcome): Promise<UsageRecord> {
  // A stream cut before its final usage: the provider's input count, and the output seen.
  if (o.usage?.estimated) return { ...o.usage, output: Math.max(o.usage.output, Math.ceil(o.outputChars / CHARS_PER_TOKEN)) };
  if (o.usage) return o.usage;
  // Refused before the provider, or the provider never answered (an error status, unreachable): no cost.
  if (!o.call || !o.deployment) return EMPTY_USAGE;
  // A rerank answered without its count: the search units of its documents.
  if (o.call.searchUnits) return { ...EMPTY_USAGE, searchUnits: o.call.searchUnits, estimated: true };
  // An answer without usage (a cut stream, a server that does not report it): count what was sent
  // and what was seen coming back.
  const input = await countTokens(messagesText(o.call.body));
  const output = Math.ceil(o.outputChars / CHARS_PER_TOKEN);
  return { ...EMPTY_USAGE, input, output, estimated: true };
}

let isoSecond = -1;
let isoPrefix = '';
/** `Date#toISOString` of a whole millisecond, its date and time made once a second: toISOString cost 0.8 µs a call. */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  return `${isoPrefix}${String(ms - second * 1000).padStart(3, '0')}Z`;
}

/** Settles a call; returns its cost in nano-dollars. Never throws. */
export async function settle(ctx: PipelineContext, o: Outcome, lease: Lease | null): Promise<number> {
  let cost = 0;
  let tokenCount = 0;
  let journaled: Promise<void> | null = null;
  try {
    const usage = await usageOf(o);
    const price = o.deployment ? ctx.prices.priceFor(o.deployment, o.upstreamModel ?? o.deployment.upstreamModel) : NO_PRICE;
    // (a cache hit: its tokens are recorded, and what it is billed, nothing unless the operator bills hits)
    cost = o.cacheHit ? o.cacheHit.costNanos : costNanos(usage, price);
    const p = o.principal.kind === 'key' ? o.principal : null;
    const key = p?.key ?? null;
    const record: SpendRecord = {
      request_id: o.id,
      upstream_id: o.upstreamId,
      key_token: o.principal.kind === 'key' ? o.principal.token : null,
      user_id: key?.user_id ?? null,
      team_id: key?.team_id ?? null,
      organization_id: key?.organization_id ?? p?.team?.organization_id ?? null,
      end_user: o.customer,
      model_group: o.group,
      deployment_id: o.deployment?.id ?? o.cacheHit?.deployment ?? null,
      provider: o.deployment?.provider ?? null,
      model: o.upstreamModel,
      call_type: o.callType,
      usage,
      cost_nanos: cost,
      status: o.error ? 'error' : 'success',
      http_status: o.httpStatus,
      error_type: o.error?.type ?? null,
      stream: o.call?.stream ?? false,
      latency_ms: Math.round((performance.now() - o.startedAt) * 1000) / 1000,
      ttft_ms: o.firstByteAt === null ? null : Math.round((o.firstByteAt - o.startedAt) * 1000) / 1000,
      tags: o.tags,
      started_at: isoTime(o.startedWall),
      budget_model: lease?.budgetModel ?? null,
      ...(o.cacheHit ? { cache_hit: true } : {}),
    };
    journaled = ctx.ledger.record(record);
    ctx.metrics.observe(record);
    ctx.accessLog.call({
      requestId: o.id,
      keyName: key?.key_alias ?? key?.key_name ?? (o.principal.kind === 'master' ? 'master' : null),
      model: o.group,
      deployment: record.deployment_id,
      status: o.httpStatus,
      error: record.error_type ?? undefined,
      stream: record.stream,
      latencyMs: record.latency_ms,
      ttftMs: record.ttft_ms ?? undefined,
      inputTokens: usage.input + usage.cacheRead + usage.cacheWrite + usage.cacheWrite1h,
      outputTokens: usage.output,
      costUsd: cost / 1e9,
      estimated: usage.estimated || undefined,
    });
    // Live spend of each entity the call counts for, until the ledger has written it.
    if (cost) for (const scope of spendScopes(record)) ctx.limiter.addSpend(scope, cost);
    if (cost && ctx.config.proxyBudget && record.user_id !== PROXY_BUDGET_ID) ctx.limiter.addSpend(PROXY_BUDGET_SCOPE, cost);
    if (o.principal.kind === 'key') ctx.limiter.addSpend(o.principal.token, cost);
    tokenCount = totalTokens(usage);
    // (usage-based routing: this minute's requests and tokens of the deployment)
    if (o.deployment) ctx.router.stats?.used(o.deployment.id, tokenCount, Date.now());
    if (!o.error && !o.cacheHit && o.callType !== 'embeddings' && o.callType !== 'rerank' && !usage.estimated) ctx.expectedOutput.observe(o.group, usage.output);
  } catch (err) {
    ctx.log.error({ err, requestId: o.id }, 'settling a request failed');
  } finally {
    // The deployment's tpm window: the real count in place of what the call held (0 if unknown), in
    // the lease's settlement when the same counters hold both (one round trip with Redis), else beside
    // it; either way before the answer ends, so that a next call sees it.
    const d = o.deploymentTokens;
    const together = d !== null && lease !== null && lease.via === d.via;
    const deploymentSettled = d && !together ? settleTokens(d, tokenCount) : null;
    // At once, with the spend counted: a reservation held any longer would count twice. The counters
    // take the cost into the budgets' shared spend and the tokens into the windows of every level with
    // a token limit, as admission listed them.
    if (lease) {
      try {
        const spends = await release(lease, cost, tokenCount, Date.now(), together ? d!.hold : null);
        // Spend went up: budget alerts (in the background, never holding the call).
        if (cost > 0 && ctx.alerts && o.principal.kind === 'key' && (lease.holds.length || lease.watched.length)) {
          ctx.alerts.settled(lease.holds, spends ?? [], lease.watched, callerOf(o.principal, o.customer));
        }
      } catch (err) {
        ctx.log.error({ err, requestId: o.id }, 'releasing a lease failed');
      }
    }
    if (deploymentSettled) await deploymentSettled;
  }
  // The answer's last bytes wait for this: a record in the journal survives a crash.
  await journaled?.catch((err: Error) => ctx.log.error({ err, requestId: o.id }, 'the spend journal could not be written'));
  return cost;
}
