// The budget of the whole proxy (litellm_settings.max_budget and budget_duration): as in LiteLLM, a
// user row of its own, `litellm-proxy-budget`, that every call's spend is added to, so that its spend,
// period and resets are those of any user budget, and a LiteLLM database keeps its figure.
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/load.ts';
import { UniqueViolation } from '../store/db.ts';
import type { UserRecord, UserRepo } from '../store/users.ts';
import { nextReset } from './periods.ts';

export const PROXY_BUDGET_ID = 'litellm-proxy-budget';
/** Its live counter's scope. */
export const PROXY_BUDGET_SCOPE = `user:${PROXY_BUDGET_ID}`;

/**
 * Makes the row as the config says, or brings it in line with it: a new limit holds at once, a new
 * period starts now. Several instances starting together make it once.
 */
export async function ensureProxyBudget(users: Pick<UserRepo, 'get' | 'insert' | 'update'>, config: GatewayConfig, log: Logger, now = new Date()): Promise<void> {
  const want = config.proxyBudget;
  if (!want) return;
  const period = (duration: string | null) => ({
    budget_duration: duration,
    budget_reset_at: duration ? nextReset(duration, now, config.timezone).toISOString() : null,
    budget_period_start: duration ? now.toISOString() : null,
  });
  const current = await users.get(PROXY_BUDGET_ID);
  if (!current) {
    const stamp = now.toISOString();
    const row: UserRecord = {
      user_id: PROXY_BUDGET_ID, user_email: null, user_alias: 'Proxy budget (litellm_settings.max_budget)', user_role: 'internal_user_viewer',
      models: [], metadata: {}, spend_nanos: 0, max_budget_nanos: want.maxBudgetNanos, soft_budget_nanos: null, ...period(want.duration),
      tpm_limit: null, rpm_limit: null, max_parallel_requests: null, model_max_budget: null, password_hash: null, extra: {},
      created_by: 'config', updated_by: 'config', created_at: stamp, updated_at: stamp,
    };
    try {
      await users.insert(row);
    } catch (err) {
      if (!(err instanceof UniqueViolation)) throw err;
      return ensureProxyBudget(users, config, log, now); // another instance made it meanwhile
    }
    return;
  }
  const changes: Partial<UserRecord> = {};
  if (current.max_budget_nanos !== want.maxBudgetNanos) changes.max_budget_nanos = want.maxBudgetNanos;
  if (current.budget_duration !== want.duration) Object.assign(changes, period(want.duration));
  if (Object.keys(changes).length === 0) return;
  await users.update(PROXY_BUDGET_ID, { ...changes, updated_at: now.toISOString(), updated_by: 'config' });
  log.info(`the proxy budget (litellm_settings.max_budget) is now as the config says${changes.budget_duration !== undefined ? '; its period starts now' : ''}`);
}
