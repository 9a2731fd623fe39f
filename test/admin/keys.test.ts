// LiteLLM's /key/* contract, and who may call it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { call, fakeModels, MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { authenticate } from '../../src/pipeline/authenticate.ts';

let fake: FakeUpstream;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(
    `${fakeModels(fake.url)}  - model_name: openai/*\n    litellm_params:\n      model: openai/*\n      api_base: ${fake.url}\n`,
  );
});
after(async () => {
  await gw.close();
  await fake.close();
});

const api = (method: string, path: string, body?: unknown, key = MASTER_KEY) => call(gw.url, method, path, body, key);

const chat = (key: string, model = 'gpt-4') =>
  api('POST', '/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, key);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('/key/generate', () => {
  test('stores and echoes every LiteLLM field; token is the SHA-256 of the key', async () => {
    const body = {
      models: ['gpt-4'],
      metadata: { user: 'someone@example.com' },
      max_budget: 10.5,
      budget_duration: '30d',
      duration: '7d',
      key_alias: 'ci-key',
      user_id: 'u1',
      team_id: 't1',
      tpm_limit: 1000,
      rpm_limit: 10,
      max_parallel_requests: 2,
      soft_budget: 8,
      blocked: false,
      aliases: { fast: 'gpt-4' },
      tags: ['ci'],
      model_rpm_limit: { 'gpt-4': 5 },
      config: { anything: true },
    };
    // A key's team must exist; its user is created with the key when it does not.
    assert.equal((await api('POST', '/key/generate', body)).body.error.param, 'team_id');
    assert.equal((await api('POST', '/team/new', { team_id: 't1' })).status, 200);
    const r = await api('POST', '/key/generate', body);
    assert.equal(r.status, 200);
    const k = r.body;
    assert.match(k.key, /^sk-/);
    assert.equal(k.token, sha256(k.key));
    assert.equal(k.token_id, k.token);
    assert.equal(k.key_name, `sk-...${k.key.slice(-4)}`);
    for (const [f, v] of Object.entries(body)) assert.deepEqual(k[f], v, f);
    assert.equal(k.spend, 0);
    const days = (Date.parse(k.expires) - Date.parse(k.created_at)) / 86_400_000;
    assert.equal(Math.round(days), 7);
    // 30d is monthly, as in LiteLLM: the period ends on the 1st of next month at midnight (UTC here).
    const created = new Date(k.created_at);
    assert.equal(k.budget_reset_at, new Date(Date.UTC(created.getUTCFullYear(), created.getUTCMonth() + 1, 1)).toISOString());
    assert.ok(k.updated_at);

    const info = await api('GET', `/key/info?key=${k.key}`);
    assert.equal(info.body.key, k.key);
    for (const [f, v] of Object.entries(body)) if (f !== 'duration') assert.deepEqual(info.body.info[f], v, f);
  });

  test('a custom key, and a duplicate alias refused', async () => {
    const r = await api('POST', '/key/generate', { key: 'sk-my-own-key-0001', key_alias: 'dup' });
    assert.equal(r.body.key, 'sk-my-own-key-0001');
    assert.equal((await chat('sk-my-own-key-0001')).status, 200);
    const again = await api('POST', '/key/generate', { key_alias: 'dup' });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.param, 'key_alias');
    const sameKey = await api('POST', '/key/generate', { key: 'sk-my-own-key-0001' });
    assert.equal(sameKey.status, 400);
  });
});

describe('who may call the management API', () => {
  test('a virtual key reads its own /key/info (with or without ?key=) and nothing else', async () => {
    const mine = (await api('POST', '/key/generate', { models: ['gpt-4'] })).body.key;
    const other = (await api('POST', '/key/generate', {})).body.key;
    assert.equal((await api('GET', '/key/info', undefined, mine)).body.info.models[0], 'gpt-4');
    assert.equal((await api('GET', `/key/info?key=${mine}`, undefined, mine)).status, 200);
    assert.equal((await api('GET', `/key/info?key=${other}`, undefined, mine)).status, 403);
    for (const [method, path, body] of [
      ['POST', '/key/generate', {}],
      ['POST', '/key/update', { key: mine, max_budget: 100 }],
      ['POST', '/key/delete', { keys: [other] }],
      ['GET', '/key/list', undefined],
      ['POST', '/key/regenerate', { key: mine }],
      ['POST', '/key/block', { key: other }],
      ['POST', '/key/unblock', { key: mine }],
    ] as const) {
      const r = await api(method, path, body, mine);
      assert.equal(r.status, 403, path);
      assert.equal(r.body.error.type, 'auth_error', path);
    }
  });

  test('a hash is never accepted as a credential', async () => {
    const k = (await api('POST', '/key/generate', {})).body;
    const r = await chat(k.token);
    assert.equal(r.status, 401);
  });

  test('no credential, a malformed one and an unknown one: 401 auth_error', async () => {
    const res = await fetch(`${gw.url}/chat/completions`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as any).error.type, 'auth_error');
    assert.equal((await chat('not a key')).status, 401);
    assert.equal((await chat('sk-unknown-but-well-formed')).status, 401);
  });

  test('api-key and x-api-key headers are accepted', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    for (const h of ['api-key', 'x-api-key']) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { [h]: key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200, h);
    }
  });
});

describe('key lifecycle', () => {
  test('update changes models and metadata, at once', async () => {
    const key = (await api('POST', '/key/generate', { models: ['gpt-4'] })).body.key;
    assert.equal((await chat(key, 'gpt-3.5-turbo')).status, 403);
    const u = await api('POST', '/key/update', { key, models: ['gpt-3.5-turbo'], metadata: { team: 'x' } });
    assert.equal(u.status, 200);
    assert.deepEqual(u.body.models, ['gpt-3.5-turbo']);
    assert.equal((await chat(key, 'gpt-3.5-turbo')).status, 200);
    assert.equal((await chat(key, 'gpt-4')).status, 403);
    // The group's own name is no model (it would send "*" upstream), and /v1/models does not offer it.
    const literal = await chat(key, 'openai/*');
    assert.equal(literal.status, 400);
    assert.equal(literal.body.error.param, 'model');
    const listed = await api('GET', '/v1/models');
    assert.deepEqual(listed.body.data.map((m: any) => m.id), ['gpt-3.5-turbo', 'gpt-4']);
  });

  test('block and unblock', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    assert.equal((await api('POST', '/key/block', { key })).body.blocked, true);
    const refused = await chat(key);
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /blocked/);
    assert.equal((await api('POST', '/key/unblock', { key: sha256(key) })).body.blocked, false);
    assert.equal((await chat(key)).status, 200);
  });

  test('regenerate: the old key stops working, the new one works, fields are kept', async () => {
    const old = (await api('POST', '/key/generate', { models: ['gpt-4'], key_alias: 'regen' })).body.key;
    assert.equal((await chat(old)).status, 200);
    const r = await api('POST', `/key/${old}/regenerate`, {});
    assert.equal(r.status, 200);
    assert.notEqual(r.body.key, old);
    assert.equal(r.body.key_alias, 'regen');
    assert.equal((await chat(old)).status, 401);
    assert.equal((await chat(r.body.key)).status, 200);
    const r2 = await api('POST', '/key/regenerate', { key: r.body.key, new_key: 'sk-regenerated-0001', models: ['gpt-3.5-turbo'] });
    assert.equal(r2.body.key, 'sk-regenerated-0001');
    assert.deepEqual(r2.body.models, ['gpt-3.5-turbo']);
  });

  test('delete by key and by alias; deleted keys are refused', async () => {
    const a = (await api('POST', '/key/generate', {})).body.key;
    const b = (await api('POST', '/key/generate', { key_alias: 'to-delete' })).body.key;
    assert.equal((await chat(a)).status, 200);
    const d = await api('POST', '/key/delete', { keys: [a], key_aliases: ['to-delete'] });
    assert.deepEqual(d.body, { deleted_keys: [a, 'to-delete'] });
    assert.equal((await chat(a)).status, 401);
    assert.equal((await chat(b)).status, 401);
    assert.equal((await api('GET', `/key/info?key=${a}`)).status, 404);
  });

  test('expiry from duration', async () => {
    const key = (await api('POST', '/key/generate', { duration: '1h' })).body.key;
    const headers = { authorization: `Bearer ${key}` };
    const ctx = gw.app.ctx;
    assert.equal((await authenticate(ctx, headers)).kind, 'key');
    await assert.rejects(authenticate(ctx, headers, Date.now() + 2 * 3_600_000), (e: any) => e.type === 'expired_key' && e.status === 400);
  });

  test('wildcard model access', async () => {
    const key = (await api('POST', '/key/generate', { models: ['openai/*'] })).body.key;
    assert.equal((await chat(key, 'openai/gpt-4o-mini')).status, 200);
    assert.equal(fake.requests.at(-1)!.body.model, 'gpt-4o-mini');
    assert.equal((await chat(key, 'gpt-4')).status, 403);
  });

  test('key aliases map a name to a model group', async () => {
    const key = (await api('POST', '/key/generate', { models: ['gpt-4'], aliases: { smart: 'gpt-4' } })).body.key;
    assert.equal((await chat(key, 'smart')).status, 200);
    assert.equal(fake.requests.at(-1)!.body.model, 'gpt-4');
  });
});

test('/key/list pages and filters', async () => {
  for (let i = 0; i < 5; i++) await api('POST', '/key/generate', { user_id: 'lister', key_alias: `list-${i}` });
  const page1 = await api('GET', '/key/list?user_id=lister&size=2&page=1');
  assert.equal(page1.body.total_count, 5);
  assert.equal(page1.body.total_pages, 3);
  assert.equal(page1.body.keys.length, 2);
  assert.match(page1.body.keys[0], /^[0-9a-f]{64}$/);
  const page3 = await api('GET', '/key/list?user_id=lister&size=2&page=3&return_full_object=true');
  assert.equal(page3.body.keys.length, 1);
  assert.equal(page3.body.keys[0].user_id, 'lister');
  const all = new Set([...page1.body.keys, ...(await api('GET', '/key/list?user_id=lister&size=2&page=2')).body.keys, page3.body.keys[0].token]);
  assert.equal(all.size, 5);
});

test('/model/info lists deployments without their secrets', async () => {
  const r = await api('GET', '/model/info');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.map((d: any) => d.model_name), ['gpt-3.5-turbo', 'gpt-4', 'openai/*']);
  assert.equal(r.body.data[0].litellm_params.model, 'openai/gpt-3.5-turbo');
  assert.ok(!JSON.stringify(r.body).includes('sk-upstream'));
  assert.ok(r.body.data[0].model_info.id);
});
