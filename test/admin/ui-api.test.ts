// The read models of the dashboard's pages: models with prices and health, usage over time by model
// and by key (from the hourly rollup), and the static files under a strict CSP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;
let headers: Record<string, string>;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(`model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${fake.url}", input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001 }
  - model_name: mini
    litellm_params: { model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006 }
`);
  const res = await fetch(`${gw.url}/ui/api/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: MASTER_KEY }) });
  headers = { cookie: res.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': ((await res.json()) as any).csrf };
});
after(async () => {
  await gw.close();
  await fake.close();
});

const get = async (path: string) => (await (await fetch(`${gw.url}${path}`, { headers })).json()) as any;

describe('dashboard read models', () => {
  test('models: groups, deployments without secrets, prices per million tokens, health', async () => {
    const { data } = await get('/ui/api/models');
    assert.deepEqual(data.map((g: any) => g.model_name), ['gpt-4o', 'mini']);
    const d = data[0].deployments[0];
    assert.deepEqual([d.provider, d.model, d.price.input_per_mtok, d.price.output_per_mtok, d.price_source], ['openai', 'gpt-4o', 2.5, 10, 'config']);
    assert.ok(!JSON.stringify(data).includes('api_key'));
    const health = (await get('/ui/api/health')).data;
    assert.deepEqual(health.map((h: any) => h.healthy), [true, false]);
  });

  test('usage: totals, series by day and hour, spend by model and the top keys', async () => {
    const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers, body: JSON.stringify({ key_alias: 'team-a' }) })).json()) as any).key;
    const client = new OpenAI({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three four' }] });
    const today = new Date().toISOString().slice(0, 10);
    const u = await get(`/ui/api/usage?start=${today}&end=${today}&bucket=day`);
    // 2 x (4 in x 2,500 + 15 out x 10,000 nano-dollars)
    assert.deepEqual(u.totals, { requests: 2, errors: 0, input_tokens: 8, output_tokens: 30, spend: 0.00032 });
    assert.deepEqual(u.series.map((s: any) => [s.t, s.requests]), [[`${today}T00:00:00Z`, 2]]);
    assert.deepEqual(u.by_model.map((m: any) => [m.model_group, m.spend, m.tokens]), [['gpt-4o', 0.00032, 38]]);
    assert.deepEqual(u.by_key.map((k: any) => [k.key_alias, k.spend]), [['team-a', 0.00032]]);
    const hourly = await get(`/ui/api/usage?start=${today}&end=${today}&bucket=hour`);
    assert.equal(hourly.series[0].t, `${new Date().toISOString().slice(0, 13)}:00:00Z`);
    const bad = await fetch(`${gw.url}/ui/api/usage?start=yesterday&end=${today}`, { headers });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as any).error.message, /start: must be a date/);
    for (const q of ['start=2024-01-01&end=2024-13-01', 'start=2024-02-31&end=2024-03-01', 'start=2024-03-02&end=2024-03-01']) {
      assert.equal((await fetch(`${gw.url}/ui/api/usage?${q}`, { headers })).status, 400, q);
    }
  });

  test('the read models need a session or the master key', async () => {
    assert.equal((await fetch(`${gw.url}/ui/api/keys`)).status, 401);
    assert.equal((await fetch(`${gw.url}/ui/api/keys`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).status, 200);
  });

  test('static files: a strict CSP and security headers, gzip, and nothing outside the dashboard', async () => {
    const res = await fetch(`${gw.url}/ui`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'self'; script-src 'self'; style-src 'self';/);
    assert.doesNotMatch(csp, /unsafe/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const vendor = await fetch(`${gw.url}/ui/vendor/preact.js`);
    assert.match(vendor.headers.get('content-type')!, /^text\/javascript/);
    assert.match(await vendor.text(), /export/);
    for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/vendor/../../src/app.ts']) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 404, path);
    }
  });
});
