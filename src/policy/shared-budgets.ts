// Shared budgets (LiteLLM's budget table) on the request path: all of them in memory, since they are
// plans and tiers, few, that organizations, customers and members point at. Changed here, they are
// replaced at once; changed on another instance, read again (the database's notification).
import type { BudgetRecord } from '../store/budgets.ts';

export class SharedBudgets {
  private readonly byId = new Map<string, BudgetRecord>();
  private readonly load: () => Promise<BudgetRecord[]>;
  private readonly read: (id: string) => Promise<BudgetRecord | undefined>;

  constructor(load: () => Promise<BudgetRecord[]>, read: (id: string) => Promise<BudgetRecord | undefined>) {
    this.load = load;
    this.read = read;
  }

  /** Reads every budget (at start, and when changes may have been missed). */
  async reloadAll(): Promise<void> {
    const rows = await this.load();
    this.byId.clear();
    for (const b of rows) this.byId.set(b.budget_id, b);
  }

  async reload(id: string): Promise<void> {
    this.set(id, (await this.read(id)) ?? null);
  }

  set(id: string, b: BudgetRecord | null): void {
    if (b) this.byId.set(id, b);
    else this.byId.delete(id);
  }

  get(id: string | null): BudgetRecord | undefined {
    return id === null ? undefined : this.byId.get(id);
  }
}
