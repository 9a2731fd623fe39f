// An entity's spend of a budget period as the database has it now, read fresh (not from a cache): what
// a shared counter (Redis) is checked against once it exists, since its seed was one instance's view,
// which lacks the spend other instances had not written yet, or that its cache had not seen.
import type { SharedBudgets } from './shared-budgets.ts';
import { memberIds } from '../store/scopes.ts';

interface Spender {
  spend_nanos: number;
  created_at: string;
}
interface OwnPeriod extends Spender {
  budget_period_start: string | null;
}
interface OnShared extends Spender {
  budget_id: string | null;
}

export interface SpendSources {
  key(token: string): Promise<OwnPeriod | undefined>;
  user(id: string): Promise<OwnPeriod | undefined>;
  team(id: string): Promise<OwnPeriod | undefined>;
  org(id: string): Promise<OnShared | undefined>;
  customer(id: string): Promise<OnShared | undefined>;
  member(teamId: string, userId: string): Promise<OnShared | undefined>;
  tag(name: string): Promise<OnShared | undefined>;
  /** A key's budget on one model, by its ref (store/key-models.ts). */
  keyModel(ref: string): Promise<OwnPeriod | undefined>;
}

/**
 * The recorded spend of the budget counter `scope` in `period` (as admit.ts's Hold names them); null
 * when the entity is gone or is in another period now (a reset, or made again under its id).
 */
export function freshSpend(sources: SpendSources, budgets: SharedBudgets): (scope: string, period: string) => Promise<number | null> {
  const own = (r: OwnPeriod | undefined, period: string) => (r && `${r.created_at}/${r.budget_period_start ?? ''}` === period ? r.spend_nanos : null);
  const shared = (r: OnShared | undefined, period: string) => {
    const b = r ? budgets.get(r.budget_id) : undefined;
    return r && b && `${r.created_at}/${b.budget_period_start ?? ''}` === period ? r.spend_nanos : null;
  };
  return async (scope, period) => {
    const colon = scope.indexOf(':');
    // A key's scope is its hash alone.
    if (colon < 0) return own(await sources.key(scope), period);
    const id = scope.slice(colon + 1);
    switch (scope.slice(0, colon)) {
      case 'user':
        return own(await sources.user(id), period);
      case 'team':
        return own(await sources.team(id), period);
      case 'org':
        return shared(await sources.org(id), period);
      case 'customer':
        return shared(await sources.customer(id), period);
      case 'member':
        return shared(await sources.member(...memberIds(id)), period);
      case 'tag':
        return shared(await sources.tag(id), period);
      case 'key_model':
        return own(await sources.keyModel(id), period);
      default:
        return null;
    }
  };
}
