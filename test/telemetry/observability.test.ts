// /metrics in Prometheus format with low-cardinality labels, one access-log line per call without
// secrets, and the health routes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
let gw: GatewayProcess;
const MASTER = 'sk-master-observe-1';

before(async () => {
  fake = await startFakeOpenAI({ apiKey: 'sk-upstream' });
  const dir = tempDir('observe');
  writeFileSync(join(dir, 'config.yaml'), `${fakeModels(fake.url, ['gpt-4'], 'sk-upstream')}  - model_name: down\n    litellm_params: { model: openai/x, api_base: 'http://127.0.0.1:1/v1' }\n`);
  gw = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: 'sqlite::memory:' } });
});
after(async () => {
  await gw.stop();
  await fake.close();
});

test('/metrics counts calls, tokens and spend by model and status, never by key', async () => {
  const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: '{}' })).json()) as { key: string }).key;
  for (const content of ['hello', '[[status:500]]']) {
    await (await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }] }) })).text();
  }
  const res = await fetch(`${gw.url}/metrics`);
  assert.match(res.headers.get('content-type')!, /text\/plain/);
  const text = await res.text();
  assert.match(text, /llmproxy_requests_total\{model="gpt-4",status="200"\} 1/);
  assert.match(text, /llmproxy_requests_total\{model="gpt-4",status="500"\} 1/);
  assert.match(text, /llmproxy_tokens_total\{model="gpt-4",kind="output"\} 15/);
  assert.match(text, /llmproxy_spend_usd_total\{model="gpt-4"\} /);
  assert.match(text, /llmproxy_request_duration_seconds_bucket/);
  assert.match(text, /llmproxy_time_to_first_token_seconds_bucket/);
  assert.ok(!text.includes(key) && !text.includes(key.slice(3)), 'no key in metrics');
  // counts kept between scrapes are added once: a second call and a second scrape give 2, 30
  await (await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'again' }] }) })).text();
  const again = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(again, /llmproxy_requests_total\{model="gpt-4",status="200"\} 2\n/);
  assert.match(again, /llmproxy_tokens_total\{model="gpt-4",kind="output"\} 30\n/);
  assert.match((await (await fetch(`${gw.url}/metrics`)).text()), /llmproxy_requests_total\{model="gpt-4",status="200"\} 2\n/);
});

test('one access-log line per call, with no credential in the logs', async () => {
  await (await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'log me' }] }) })).text();
  // lines are buffered, and written within a second
  const callLines = () => gw.output().split('\n').filter((l) => l.includes('"msg":"call"'));
  const waitUntil = Date.now() + 3000;
  while (callLines().length === 0 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 50));
  const lines = callLines();
  assert.ok(lines.length >= 1, 'the access line is written within a second');
  const last = JSON.parse(lines.at(-1)!);
  assert.equal(last.model, 'gpt-4');
  assert.equal(last.status, 200);
  assert.equal(last.keyName, 'master');
  assert.ok(typeof last.requestId === 'string' && last.latencyMs >= 0);
  assert.ok(!gw.output().includes(MASTER), 'the master key never appears in the logs');
  assert.ok(!gw.output().includes('sk-upstream'), 'nor a provider key');
});

test('access lines still buffered when the process stops are written before it exits', async () => {
  const dir = tempDir('observe-stop');
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url, ['gpt-4'], 'sk-upstream'));
  const g = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: 'sqlite::memory:' } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${g.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'bye' }] }) });
    await res.text();
    ids.push(res.headers.get('x-litellm-call-id')!);
  }
  assert.equal(await g.stop(), 0);
  const logged = g.output().split('\n').filter((l) => l.includes('"msg":"call"')).map((l) => JSON.parse(l).requestId);
  assert.deepEqual(logged, ids);
});

test('health routes: liveliness and readiness', async () => {
  assert.equal((await fetch(`${gw.url}/health/liveliness`)).status, 200);
  const ready = await fetch(`${gw.url}/health/readiness`);
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { status: string; db: string; litellm_version: string };
  assert.equal(body.status, 'healthy');
  assert.equal(body.db, 'connected');
  assert.match(body.litellm_version, /^\d+\.\d+\.\d+/);
});

test('/health checks each deployment cheaply and names the ones down, without secrets', async () => {
  const res = await fetch(`${gw.url}/health`, { headers: { authorization: `Bearer ${MASTER}` } });
  const body = (await res.json()) as { healthy_count: number; unhealthy_count: number; healthy_endpoints: { model_name: string }[]; unhealthy_endpoints: { model_name: string; error: string }[] };
  assert.deepEqual(body.healthy_endpoints.map((e) => e.model_name), ['gpt-4']);
  assert.deepEqual(body.unhealthy_endpoints.map((e) => e.model_name), ['down']);
  assert.ok(body.unhealthy_endpoints[0]!.error);
  assert.ok(!JSON.stringify(body).includes('sk-upstream'));
  assert.equal((await fetch(`${gw.url}/health`)).status, 401);
});
