// Customers (LiteLLM's end users) on the request path: who a request is made for, and whether that
// customer may be served. Only customers with a policy (blocked, or with a budget) are held, all of
// them in memory, so that a request naming an unknown customer costs no database read.
import { GatewayError } from '../http/errors.ts';
import type { CustomerRecord } from '../store/customers.ts';

type Headers = Record<string, string | string[] | undefined>;

const MAX_ID = 512;

function id(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' && v.length <= MAX_ID ? v : null;
}

/**
 * The customer a request names, in LiteLLM's order: the `x-litellm-customer-id` or
 * `x-litellm-end-user-id` header, the body's `user` (OpenAI), `litellm_metadata.user`,
 * `metadata.user_id` (Anthropic), `safety_identifier` (the Responses API).
 */
export function customerOf(headers: Headers, body: Record<string, unknown>): string | null {
  for (const h of ['x-litellm-customer-id', 'x-litellm-end-user-id']) {
    const v = id(headers[h]);
    if (v) return v;
  }
  const meta = (o: unknown, field: string) => (o && typeof o === 'object' ? id((o as Record<string, unknown>)[field]) : null);
  return id(body.user) ?? meta(body.litellm_metadata, 'user') ?? meta(body.metadata, 'user_id') ?? id(body.safety_identifier);
}

export interface CustomerState {
  blocked: boolean;
  budget_id: string | null;
  /** Recorded spend, kept current as the ledger writes (what a budget is held against). */
  spend_nanos: number;
  /** When the customer was created (a customer made again under the same id starts a new budget counter). */
  created_at: string;
}

export class CustomerPolicy {
  private readonly held = new Map<string, CustomerState>();
  private readonly load: () => Promise<CustomerRecord[]>;
  private readonly read: (id: string) => Promise<CustomerRecord | undefined>;

  constructor(load: () => Promise<CustomerRecord[]>, read: (id: string) => Promise<CustomerRecord | undefined>) {
    this.load = load;
    this.read = read;
  }

  /** Reads every customer with a policy (at start, and when changes may have been missed). */
  async reloadAll(): Promise<void> {
    const rows = await this.load();
    this.held.clear();
    for (const c of rows) this.set(c.user_id, c);
  }

  /** A customer changed (here, or on another instance: then it is read again). */
  set(id: string, c: CustomerRecord | null): void {
    if (c && (c.blocked || c.budget_id !== null)) this.held.set(id, { blocked: c.blocked, budget_id: c.budget_id, spend_nanos: c.spend_nanos, created_at: c.created_at });
    else this.held.delete(id);
  }

  async reload(id: string): Promise<void> {
    this.set(id, (await this.read(id)) ?? null);
  }

  get(id: string): CustomerState | undefined {
    return this.held.get(id);
  }

  /** Spend just written to the database for a customer. */
  addSpend(id: string, nanos: number): void {
    const c = this.held.get(id);
    if (c) c.spend_nanos += nanos;
  }

  /** Refuses a blocked customer's request. */
  check(id: string | null): void {
    if (id !== null && this.held.get(id)?.blocked) {
      throw new GatewayError('blocked_customer', `User blocked from making LLM API Calls. User=${id}`, { param: 'user' });
    }
  }
}
