// Repository of customers (LiteLLM's end users: whom a request is made for, named by its `user`
// field or a header). Unknown customers are created by the ledger when it records their spend.
import type { Queryable } from './db.ts';
import { EntityRepo, type TableSpec } from './rows.ts';

export interface CustomerRecord {
  user_id: string;
  alias: string | null;
  blocked: boolean;
  budget_id: string | null;
  allowed_model_region: string | null;
  default_model: string | null;
  metadata: Record<string, unknown>;
  spend_nanos: number;
  created_at: string;
  updated_at: string;
}

export const CUSTOMERS: TableSpec<CustomerRecord> = {
  table: 'llmproxy_customers',
  columns: ['user_id', 'alias', 'blocked', 'budget_id', 'allowed_model_region', 'default_model', 'metadata', 'spend_nanos', 'created_at', 'updated_at'],
  json: new Set(['metadata']),
  bools: new Set(['blocked']),
  defaults: { metadata: {} },
};

export class CustomerRepo extends EntityRepo<CustomerRecord> {
  constructor(db: Queryable) {
    super(db, CUSTOMERS, 'user_id');
  }

  async list(page: number, pageSize: number): Promise<CustomerRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_customers ORDER BY user_id LIMIT ? OFFSET ?', [pageSize, (page - 1) * pageSize])).map(this.read);
  }

  /** The customers the request path must know of: blocked ones and those with a budget. */
  async withPolicy(): Promise<CustomerRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_customers WHERE blocked = 1 OR budget_id IS NOT NULL')).map(this.read);
  }

  async usingBudget(budgetId: string): Promise<CustomerRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_customers WHERE budget_id = ?', [budgetId])).map(this.read);
  }
}
