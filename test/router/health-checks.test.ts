// Background health checks: every deployment checked each health_check_interval; a failing one is
// left out of its group's picks before any call fails on it, /health answers from the last results
// (no provider called), /health/readiness says the gateway is degraded and how many deployments are down,
// and neither shows the credentials a deployment's api_base may hold.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/databases.ts';

let fake: FakeUpstream;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI();
  // Nothing listens there; its api_base holds credentials that must never be shown.
  const dead = `http://admin:s3cret-pass@127.0.0.1:${await freePort()}`;
  gw = await startInProcess(`model_list:
  - model_name: pair
    litellm_params: { model: openai/gpt-4, api_base: ${fake.url} }
  - model_name: pair
    litellm_params: { model: openai/gpt-4, api_base: ${dead} }
general_settings:
  background_health_checks: true
  health_check_interval: 0.3
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

const get = (path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
const checks = () => fake.requests.filter((r) => r.path.startsWith('/v1/models')).length;

test('a deployment failing its background check is left out before any call fails on it', async () => {
  await new Promise((r) => setTimeout(r, 200));
  const statuses = await Promise.all(Array.from({ length: 20 }, () =>
    fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ model: 'pair', messages: [{ role: 'user', content: 'hi' }] }) }).then((r) => r.status),
  ));
  assert.deepEqual([...new Set(statuses)], [200]);
});

test('/health answers from the last background results; /health/readiness is degraded, naming the deployment; no credentials shown', async () => {
  const before = checks();
  const health = await get('/health');
  const text = await health.text();
  assert.equal(checks(), before, '/health called no provider');
  const body = JSON.parse(text);
  assert.equal(body.healthy_count, 1);
  assert.equal(body.unhealthy_count, 1);
  assert.ok(body.unhealthy_endpoints[0].last_checked_at);
  assert.doesNotMatch(text, /s3cret|admin:/);
  const ready = await get('/health/readiness');
  assert.equal(ready.status, 200);
  const r = (await ready.json()) as any;
  assert.equal(r.status, 'degraded');
  assert.equal(r.unhealthy_deployments, 1, 'a count: this route is open to anyone');
  assert.doesNotMatch(JSON.stringify(r), /s3cret/);
  // The checks go on, every interval.
  await new Promise((res) => setTimeout(res, 700));
  assert.ok(checks() >= before + 2, `${checks() - before} checks since`);
});
