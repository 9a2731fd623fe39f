// Tag budgets from the config (litellm_settings.tag_budget_config): at start, each named tag gets a
// row and a budget row as /tag/new would make them, or has them brought in line with the config (a new
// max_budget holds at once, a new budget_duration starts a period). Edits through /tag/update last
// until the next start, when the config wins again.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/load.ts';
import type { BudgetRecord, BudgetRepo } from '../store/budgets.ts';
import { UniqueViolation } from '../store/db.ts';
import type { TagRepo } from '../store/tags.ts';
import { nextReset } from './periods.ts';

export async function ensureTagBudgets(stores: { tags: TagRepo; budgets: BudgetRepo }, config: GatewayConfig, log: Logger, now = new Date()): Promise<void> {
  const stamp = now.toISOString();
  const period = (duration: string | null) => ({
    budget_duration: duration,
    budget_reset_at: duration ? nextReset(duration, now, config.timezone).toISOString() : null,
    budget_period_start: duration ? stamp : null,
  });
  for (const want of config.tagBudgets) {
    for (let attempt = 0; ; attempt++) {
      let made: string | null = null;
      try {
        const tag = await stores.tags.get(want.name);
        const budget = tag?.budget_id ? await stores.budgets.get(tag.budget_id) : undefined;
        if (budget) {
          const changes: Partial<BudgetRecord> = {};
          if (budget.max_budget_nanos !== want.maxBudgetNanos) changes.max_budget_nanos = want.maxBudgetNanos;
          if (budget.budget_duration !== want.duration) Object.assign(changes, period(want.duration));
          if (Object.keys(changes).length) {
            await stores.budgets.update(budget.budget_id, { ...changes, updated_by: 'config', updated_at: stamp });
            log.info(`tag ${want.name}: its budget is now as litellm_settings.tag_budget_config says`);
          }
          break;
        }
        const b: BudgetRecord = {
          budget_id: randomUUID(), max_budget_nanos: want.maxBudgetNanos, soft_budget_nanos: null, max_parallel_requests: null, tpm_limit: null,
          rpm_limit: null, model_max_budget: null, ...period(want.duration), created_by: 'config', updated_by: 'config', created_at: stamp, updated_at: stamp,
        };
        await stores.budgets.insert(b);
        made = b.budget_id;
        if (tag) await stores.tags.update(tag.tag_name, { budget_id: b.budget_id, updated_by: 'config', updated_at: stamp });
        else {
          await stores.tags.insert({
            tag_name: want.name, description: 'From litellm_settings.tag_budget_config', models: [], budget_id: b.budget_id, spend_nanos: 0,
            created_by: 'config', updated_by: 'config', created_at: stamp, updated_at: stamp,
          });
        }
        break;
      } catch (err) {
        // Another instance starting at the same time made it: read again, once (this one's budget row goes).
        if (made) await stores.budgets.delete([made]).catch(() => {});
        if (!(err instanceof UniqueViolation) || attempt > 0) throw err;
      }
    }
  }
}
