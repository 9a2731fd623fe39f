// Price sources and ledger settings: a LiteLLM price file, unpriced models and budgets, retention.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { retentionCutoff } from '../../src/metering/retention.ts';
import { pruneSpendLogs } from '../../src/store/spend.ts';
import { applyLedger } from '../../src/store/ledger.ts';
import { openSqliteConnection as openSqlite } from '../../src/store/sqlite.ts';
import { migrate } from '../../src/store/migrations.ts';
import { spendRecord } from '../helpers/records.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
let gw: TestGateway;
let costMap: string;

before(async () => {
  fake = await startFakeOpenAI();
  const dir = tempDir('prices');
  costMap = join(dir, 'model_prices_and_context_window.json');
  writeFileSync(costMap, JSON.stringify({ 'my-local-model': { input_cost_per_token: 0.000003, output_cost_per_token: 0.000005, litellm_provider: 'openai', mode: 'chat' } }));
  gw = await startInProcess(`model_list:
  - model_name: local
    litellm_params: { model: openai/my-local-model, api_base: "${fake.url}" }
  - model_name: unpriced
    litellm_params: { model: openai/nobody-knows-this-model, api_base: "${fake.url}" }
litellm_settings:
  model_cost_map_url: ${costMap}
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

async function call(model: string, key: string) {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'one two' }] }),
  });
  return { status: res.status, cost: res.headers.get('x-litellm-response-cost'), body: (await res.json()) as any };
}

async function keyWith(body: object): Promise<string> {
  const res = await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify(body) });
  return ((await res.json()) as { key: string }).key;
}

test('a LiteLLM-format price file prices models the catalog does not know', async () => {
  const r = await call('local', MASTER_KEY);
  // 2 prompt tokens x 3,000 + 15 output x 5,000 nano-dollars
  assert.equal(Number(r.cost), 0.000081);
});

test('an unpriced model costs 0, and keys with a budget are refused it unless allowed', async () => {
  assert.equal(Number((await call('unpriced', MASTER_KEY)).cost), 0);
  const budgeted = await keyWith({ max_budget: 1 });
  const refused = await call('unpriced', budgeted);
  assert.equal(refused.status, 400);
  assert.match(refused.body.error.message, /no known price/);
  const free = await keyWith({});
  assert.equal((await call('unpriced', free)).status, 200);
});

test('retention prunes spend logs and keeps the hourly rollup', async () => {
  const db = openSqlite(':memory:');
  await migrate(db);
  const rec = (id: string, started: string) => spendRecord(id, { key_token: null, cost_nanos: 5, started_at: started });
  await applyLedger(db, [rec('a', '2026-01-01T00:00:00.000Z'), rec('b', '2026-03-01T00:00:00.000Z')]);
  const cutoff = retentionCutoff(new Date('2026-03-02T00:00:00Z'), '30d');
  assert.equal(await pruneSpendLogs(db, cutoff.toISOString()), 1);
  assert.equal((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM llmproxy_spend_logs'))!.n, 1);
  assert.equal((await db.get<{ s: number }>('SELECT SUM(cost_nanos) AS s FROM llmproxy_spend_hourly'))!.s, 10);
  await db.close();
});
