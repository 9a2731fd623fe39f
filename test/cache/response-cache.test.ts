// The response cache with the openai SDK: a miss then a hit (the provider called once), streamed
// answers replayed with the original frames' content, teams kept apart, the request's controls
// (no-cache, no-store, s-maxage, ttl, namespace) and a key's allowed_cache_controls, hits in the ledger
// at no cost and in the rate limits, /cache/ping, /cache/delete and /cache/flushall, the LRU's bound
// and TTL on a fake clock, and one Redis shared by two instances.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, okCall, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { REDIS } from '../helpers/databases.ts';
import { LocalCache } from '../../src/cache/store.ts';
import { EMPTY_USAGE } from '../../src/metering/usage.ts';

let fake: FakeUpstream;
let gw: TestGateway;
const calls = () => fake.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: ${fake.url}, api_key: sk-up, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: "wild/*"
    litellm_params: { model: "openai/*", api_base: ${fake.url}, api_key: sk-up }
  - model_name: down
    litellm_params: { model: openai/gpt-4, api_base: "http://127.0.0.1:9/v1", api_key: sk-up }
router_settings:
  fallbacks: [{ down: [gpt-4] }]
litellm_settings:
  cache: true
  cache_params: { type: local, ttl: 60 }
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

const sdk = (key = MASTER_KEY) => new OpenAI({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
const admin = (method: string, path: string, body?: unknown) => okCall(gw.url, method, path, body, MASTER_KEY);
const unique = (what: string) => `${what} ${randomBytes(4).toString('hex')}`;

test('a miss then a hit: the provider is called once, the hit names its key and costs nothing', async () => {
  const content = unique('cache me');
  const before = calls();
  const first = await sdk().chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content }] }).withResponse();
  assert.equal(first.response.headers.get('x-litellm-cache-key'), null, 'a miss has no cache key');
  const second = await sdk().chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content }] }).withResponse();
  assert.equal(calls(), before + 1);
  assert.match(second.response.headers.get('x-litellm-cache-key')!, /^[0-9a-f]{64}$/);
  assert.equal(second.response.headers.get('x-litellm-response-cost'), '0');
  assert.deepEqual(second.data.choices, first.data.choices);
  // Key order and gateway-only fields do not make another answer.
  const reordered = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ messages: [{ content, role: 'user' }], metadata: { trace: 'x' }, model: 'gpt-4' }),
  });
  assert.equal(reordered.headers.get('x-litellm-cache-key'), second.response.headers.get('x-litellm-cache-key'));
  await reordered.text();
  // Another temperature is another answer.
  await sdk().chat.completions.create({ model: 'gpt-4', temperature: 0.5, messages: [{ role: 'user', content }] });
  assert.equal(calls(), before + 2);
});

test('a streamed answer is kept and replayed as a stream, with the same content', async () => {
  const content = unique('stream me');
  const read = async () => {
    let text = '';
    const stream = await sdk().chat.completions.create({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content }] });
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  };
  const before = calls();
  const first = await read();
  const second = await read();
  assert.equal(calls(), before + 1);
  assert.ok(first.length > 0);
  assert.equal(second, first);
});

test("one team's cached answers are never served to another", async () => {
  const teamA = (await admin('POST', '/team/new', { team_alias: unique('a') })).team_id;
  const teamB = (await admin('POST', '/team/new', { team_alias: unique('b') })).team_id;
  const keyA = (await admin('POST', '/key/generate', { team_id: teamA })).key;
  const keyA2 = (await admin('POST', '/key/generate', { team_id: teamA })).key;
  const keyB = (await admin('POST', '/key/generate', { team_id: teamB })).key;
  const content = unique('team secret');
  const ask = (key: string) => sdk(key).chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content }] });
  const before = calls();
  await ask(keyA);
  await ask(keyA2);
  assert.equal(calls(), before + 1, 'the same team shares its answers');
  await ask(keyB);
  assert.equal(calls(), before + 2, 'another team does not get them');
});

test('the request steers it: no-cache, no-store, s-maxage, ttl, namespace; a key may be held to some controls', async () => {
  const content = unique('controls');
  const ask = (cache?: Record<string, unknown>, key = MASTER_KEY) =>
    fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }], ...(cache ? { cache } : {}) }) }).then(async (r) => ({ status: r.status, key: r.headers.get('x-litellm-cache-key'), body: (await r.json()) as any }));
  const before = calls();
  await ask({ 'no-store': true });
  assert.equal((await ask()).key, null, 'no-store kept nothing');
  assert.equal(calls(), before + 2);
  assert.ok((await ask()).key, 'the plain call before was kept');
  assert.equal((await ask({ 'no-cache': true })).key, null, 'no-cache looks nothing up');
  assert.equal(calls(), before + 3);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await ask({ 's-maxage': 1 })).key, null, 'older than s-maxage: a miss');
  assert.ok((await ask({ 's-maxage': 60 })).key);
  const ns = await ask({ namespace: 'other' });
  assert.equal(ns.key, null, 'another namespace is another cache');
  assert.match((await ask({ namespace: 'other' })).key!, /^other:[0-9a-f]{64}$/);
  assert.equal((await ask({ ttl: 'long' })).status, 400);
  const wrong = await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ allowed_cache_controls: 'no-cache' }) });
  assert.equal(wrong.status, 400);
  assert.equal(((await wrong.json()) as any).error.param, 'allowed_cache_controls');
  const held = (await admin('POST', '/key/generate', { allowed_cache_controls: ['no-cache'] })).key;
  assert.equal((await ask({ 'no-cache': true }, held)).status, 200);
  const refused = await ask({ 'no-store': true }, held);
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /Not allowed to set no-store as a cache control/);
});

test('hits are in the ledger at no cost, marked, and count against rate limits', async () => {
  const key = (await admin('POST', '/key/generate', { rpm_limit: 3, max_budget: 1 })).key;
  const content = unique('ledger');
  const ask = () => fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }] }) }).then(async (r) => (await r.text(), r.status));
  assert.deepEqual([await ask(), await ask(), await ask(), await ask()], [200, 200, 200, 429], 'a hit is a request for rpm_limit');
  const logs = (await admin('GET', `/spend/logs?api_key=${encodeURIComponent(key)}&page_size=100`)).data as any[];
  const rows = logs.filter((l) => l.status === 'success');
  assert.equal(rows.length, 3);
  const hits = rows.filter((l) => l.cache_hit === 'True');
  assert.equal(hits.length, 2);
  assert.ok(hits.every((l) => l.spend === 0 && l.prompt_tokens > 0), 'tokens recorded, no cost');
  const miss = rows.find((l) => l.cache_hit === 'False')!;
  const info = await admin('GET', `/key/info?key=${encodeURIComponent(key)}`);
  assert.equal(info.info.spend, miss.spend, "the key paid for the miss only");
});

test('/cache/ping, /cache/delete (by the key a hit named) and /cache/flushall', async () => {
  const ping = await admin('GET', '/cache/ping');
  assert.equal(ping.status, 'healthy');
  assert.equal(ping.cache_type, 'local');
  const content = unique('delete me');
  const ask = () => fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }] }) }).then(async (r) => (await r.text(), r.headers.get('x-litellm-cache-key')));
  await ask();
  const key = await ask();
  assert.ok(key);
  assert.deepEqual(await admin('POST', '/cache/delete', { keys: [key] }), { status: 'success', deleted: 1 });
  assert.equal(await ask(), null, 'deleted: a miss');
  assert.ok(await ask());
  assert.deepEqual(await admin('POST', '/cache/flushall'), { status: 'success' });
  assert.equal(await ask(), null, 'flushed: a miss');
  const noKeys = await fetch(`${gw.url}/cache/delete`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({}) });
  assert.equal(noKeys.status, 400);
});

test('the in-process cache is an LRU bounded in bytes, its entries gone after their TTL (a fake clock)', async () => {
  let now = 1_000;
  const c = new LocalCache(3 * 1024, () => now);
  const answer = (n: number) => ({ body: Buffer.alloc(n), contentType: 'application/json', stream: false, usage: EMPTY_USAGE, model: 'm', deployment: 'd', createdAt: now });
  await c.set('a', answer(900), 10_000);
  await c.set('b', answer(900), 10_000);
  await c.get('a'); // (a used last: b goes first)
  await c.set('c', answer(900), 10_000);
  assert.ok((await c.get('b')) === null && (await c.get('a')) !== null && (await c.get('c')) !== null, 'the least recently used went');
  assert.ok(c.size <= 3 * 1024);
  await c.set('big', answer(5000), 10_000);
  assert.equal(await c.get('big'), null, 'larger than the whole cache: not kept');
  now += 10_001;
  assert.equal(await c.get('a'), null, 'past its TTL');
});

describe('a Redis cache shared by two instances', { skip: REDIS ? false : 'TEST_REDIS_URL is not set (.ci/run sets it)' }, () => {
  test('an answer one instance kept is a hit on the other', async () => {
    const ns = `test-${randomBytes(4).toString('hex')}`;
    const yaml = `model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: ${fake.url}, api_key: sk-up }
litellm_settings:
  cache: true
  cache_params: { type: redis, url: "${REDIS}", namespace: ${ns}, ttl: 30 }
`;
    const a = await startInProcess(yaml);
    const b = await startInProcess(yaml);
    try {
      const content = unique('shared');
      const ask = (g: TestGateway) => fetch(`${g.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }] }) }).then(async (r) => ({ key: r.headers.get('x-litellm-cache-key'), body: (await r.json()) as any }));
      const before = calls();
      const first = await ask(a);
      // (the answer is written in the background)
      await new Promise((r) => setTimeout(r, 100));
      const second = await ask(b);
      assert.equal(calls(), before + 1);
      assert.equal(first.key, null);
      assert.match(second.key!, new RegExp(`^${ns}:`));
      assert.deepEqual(second.body.choices, first.body.choices);
      const ping = await okCall(b.url, 'GET', '/cache/ping', undefined, MASTER_KEY);
      assert.equal(ping.cache_type, 'redis');
      assert.equal(ping.ping_response, true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test("a wildcard group's models are apart, a beta header is part of the key, and an answer a fallback gave is not kept", async () => {
  const content = unique('apart');
  const ask = (model: string, headers: Record<string, string> = {}) => fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, ...headers }, body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) }).then(async (r) => (await r.text(), r.headers.get('x-litellm-cache-key')));
  const before = calls();
  await ask('wild/gpt-4o');
  assert.equal(await ask('wild/gpt-4o-mini'), null, 'another model of the wildcard: a miss');
  assert.ok(await ask('wild/gpt-4o'));
  assert.equal(await ask('wild/gpt-4o', { 'openai-beta': 'assistants=v2' }), null, 'another beta: a miss');
  assert.equal(calls(), before + 3);
  await ask('down');
  assert.equal(await ask('down'), null, 'answered by the fallback: not kept under the group asked for');
});

test('count_hits_in_budgets: a hit is billed what its answer cost, to the key and in the ledger', async () => {
  const billing = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: ${fake.url}, api_key: sk-up, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
litellm_settings:
  cache: true
  cache_params: { type: local, count_hits_in_budgets: true }
`);
  try {
    const key = (await okCall(billing.url, 'POST', '/key/generate', { max_budget: 1 }, MASTER_KEY)).key;
    const content = unique('billed');
    const ask = () => fetch(`${billing.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }] }) }).then(async (r) => (await r.text(), { hit: r.headers.get('x-litellm-cache-key') !== null, cost: Number(r.headers.get('x-litellm-response-cost')) }));
    const miss = await ask();
    const hit = await ask();
    assert.ok(!miss.hit && hit.hit);
    assert.ok(miss.cost > 0);
    assert.equal(hit.cost, miss.cost);
    const info = await okCall(billing.url, 'GET', `/key/info?key=${encodeURIComponent(key)}`, undefined, MASTER_KEY);
    assert.equal(info.info.spend, miss.cost * 2);
  } finally {
    await billing.close();
  }
});
