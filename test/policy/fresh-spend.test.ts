// The spend a shared counter is checked against: each kind of entity's recorded spend, in the period
// the counter is of (its own period, or its shared budget's), and nothing for another period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshSpend } from '../../src/policy/fresh-spend.ts';
import { SharedBudgets } from '../../src/policy/shared-budgets.ts';
import type { BudgetRecord } from '../../src/store/budgets.ts';
import { memberRef, scopeOf } from '../../src/store/scopes.ts';

const C = '2026-01-01T00:00:00.000Z';
const P = '2026-12-01T00:00:00.000Z';

test('each kind of entity, in its period; another period, or none, is unknown', async () => {
  const plan = { budget_id: 'plan', budget_period_start: P } as BudgetRecord;
  const budgets = new SharedBudgets(async () => [plan], async () => plan);
  await budgets.reloadAll();
  const own = (spend: number) => ({ spend_nanos: spend, created_at: C, budget_period_start: P });
  const onPlan = (spend: number) => ({ spend_nanos: spend, created_at: C, budget_id: 'plan' });
  const read = freshSpend(
    {
      key: async (t) => (t === 'abc' ? own(1) : undefined),
      user: async (id) => (id === 'u:1' ? own(2) : undefined),
      team: async () => own(3),
      org: async () => onPlan(4),
      customer: async (id) => (id === 'off-plan' ? { ...onPlan(9), budget_id: null } : onPlan(5)),
      member: async (t, u) => (t === 'a:b' && u === 'c' ? onPlan(6) : undefined),
      tag: async (name) => (name === 'project:x' ? onPlan(7) : undefined),
      keyModel: async (ref) => (ref === 'abc:gpt%3A4' ? own(8) : undefined),
    },
    budgets,
  );
  const period = `${C}/${P}`;
  assert.equal(await read('abc', period), 1);
  assert.equal(await read('user:u:1', period), 2, 'an id with a colon');
  assert.equal(await read('team:t', period), 3);
  assert.equal(await read('org:o', period), 4);
  assert.equal(await read('customer:x', period), 5);
  assert.equal(await read(scopeOf('member', ['a:b', 'c']), period), 6);
  assert.equal(`member:${memberRef('a:b', 'c')}`, scopeOf('member', ['a:b', 'c']));
  assert.equal(await read(scopeOf('member', ['a', 'b:c']), period), null, 'another membership');
  assert.equal(await read('team:t', `${C}/`), null, 'another period of the entity');
  assert.equal(await read('org:o', `2026-02-01T00:00:00.000Z/${P}`), null, 'the entity made again under its id');
  assert.equal(await read('customer:off-plan', period), null, 'no longer on a budget');
  assert.equal(await read('nobody', period), null);
  assert.equal(await read('tag:project:x', period), 7);
  assert.equal(await read('tag:x', period), null, 'no such tag');
  assert.equal(await read(scopeOf('key_model', ['abc', 'gpt:4']), period), 8, "a key's model budget");
  assert.equal(await read('cohort:x', period), null, 'a kind it does not know');
});
