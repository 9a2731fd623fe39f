// Per-model budgets of keys (LiteLLM's model_max_budget: `{"gpt-4o": {"budget_limit": 5, "time_period":
// "1d"}}`). The limits are the key's, in its model_max_budget; each model's spend in its current
// period is a row here, written by the ledger with the other spend, reset by the reset job.
import { nextReset } from '../policy/periods.ts';
import type { Queryable } from './db.ts';
import { BudgetedRepo, placeholders, type TableSpec } from './rows.ts';
import { refOf } from './scopes.ts';

export interface KeyModelBudget {
  /** The key's hash and the budget's model, escaped (store/scopes.ts refOf); its live counter is `key_model:` + ref. */
  ref: string;
  token: string;
  budget_model: string;
  spend_nanos: number;
  budget_duration: string | null;
  budget_reset_at: string | null;
  budget_period_start: string | null;
  created_at: string;
}

/** One entry of a key's model_max_budget, as stored (LiteLLM's field names). */
export interface ModelBudget {
  budget_limit: number;
  time_period: string;
}

export const KEY_MODEL_BUDGETS: TableSpec<KeyModelBudget> = {
  table: 'llmproxy_key_model_budgets',
  columns: ['ref', 'token', 'budget_model', 'spend_nanos', 'budget_duration', 'budget_reset_at', 'budget_period_start', 'created_at'],
  json: new Set(),
  bools: new Set(),
};

export const keyModelRef = (token: string, model: string): string => refOf([token, model]);

export class KeyModelBudgetRepo extends BudgetedRepo<KeyModelBudget> {
  constructor(db: Queryable) {
    super(db, KEY_MODEL_BUDGETS, 'ref');
  }

  async forKeys(tokens: string[]): Promise<KeyModelBudget[]> {
    if (tokens.length === 0) return [];
    return (await this.db.all(`SELECT * FROM llmproxy_key_model_budgets WHERE token IN (${placeholders(tokens.length)})`, tokens)).map(this.read);
  }

  /** A period starting now, for a model budget of this duration. */
  private row(token: string, model: string, duration: string, now: Date, timeZone: string): KeyModelBudget {
    return {
      ref: keyModelRef(token, model), token, budget_model: model, spend_nanos: 0, budget_duration: duration,
      budget_reset_at: nextReset(duration, now, timeZone).toISOString(), budget_period_start: now.toISOString(), created_at: now.toISOString(),
    };
  }

  /**
   * Brings a key's rows in line with its model_max_budget: a row for each model (a new model, or a new
   * time_period, starts a period from 0, as LiteLLM starts a new counter), none for models no longer
   * budgeted. Returns the refs whose rows changed.
   */
  async sync(token: string, budgets: Record<string, ModelBudget> | null, timeZone: string, now = new Date()): Promise<string[]> {
    const rows = await this.forKeys([token]);
    const want = budgets ?? {};
    const changed: string[] = [];
    const gone = rows.filter((r) => !(r.budget_model in want)).map((r) => r.ref);
    if (gone.length) await this.delete(gone);
    changed.push(...gone);
    for (const [model, b] of Object.entries(want)) {
      const have = rows.find((r) => r.budget_model === model);
      if (have && have.budget_duration === b.time_period) continue;
      if (have) await this.delete([have.ref]);
      await this.insert(this.row(token, model, b.time_period, now, timeZone));
      changed.push(keyModelRef(token, model));
    }
    return changed;
  }

  /** The row of one model budget, made if it is missing (another writer may make it at the same time). */
  async ensure(token: string, model: string, duration: string, timeZone: string, now = new Date()): Promise<KeyModelBudget> {
    const r = this.row(token, model, duration, now, timeZone);
    await this.db.run(
      `INSERT INTO llmproxy_key_model_budgets (ref, token, budget_model, spend_nanos, budget_duration, budget_reset_at, budget_period_start, created_at)
       VALUES (?, ?, ?, 0, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING`,
      [r.ref, token, model, duration, r.budget_reset_at, r.budget_period_start, r.created_at],
    );
    return (await this.get(r.ref))!;
  }

  /** A regenerated key keeps its model budgets' spend under its new hash. */
  async rekey(from: string, to: string): Promise<string[]> {
    const rows = await this.forKeys([from]);
    for (const r of rows) await this.db.run('UPDATE llmproxy_key_model_budgets SET ref = ?, token = ? WHERE ref = ?', [keyModelRef(to, r.budget_model), to, r.ref]);
    return rows.map((r) => r.ref);
  }

  async deleteForKeys(tokens: string[]): Promise<void> {
    if (tokens.length) await this.db.run(`DELETE FROM llmproxy_key_model_budgets WHERE token IN (${placeholders(tokens.length)})`, tokens);
  }
}

/** The statement that drops deleted keys' model budget rows, for a deletion's batch (none for no keys). */
export function dropKeyModelRows(tokens: string[]): { sql: string; params: string[] }[] {
  return tokens.length ? [{ sql: `DELETE FROM llmproxy_key_model_budgets WHERE token IN (${placeholders(tokens.length)})`, params: tokens }] : [];
}
