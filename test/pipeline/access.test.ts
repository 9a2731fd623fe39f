// What a key may call on the LLM routes: models through its own list, its team's (or, with no team,
// its user's) and its organization's, with model access groups and wildcards; /models lists exactly
// that; key_type and allowed_routes narrow the routes. And what nobody may do to raise their own
// rights through the management API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { call, MASTER_KEY, okCall, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;

const MODELS: Record<string, string[]> = {
  'gpt-4': ['premium'],
  'gpt-4o-mini': ['basic', 'premium'],
  'gpt-3.5-turbo': ['basic'],
  'text-embedding-3-small': [],
};

before(async () => {
  fake = await startFakeOpenAI();
  const yaml = Object.entries(MODELS)
    .map(
      ([name, groups]) =>
        `  - model_name: ${name}\n    litellm_params:\n      model: openai/${name}\n      api_base: ${fake.url}\n      api_key: sk-upstream\n` +
        (groups.length ? `    model_info:\n      access_groups: [${groups.join(', ')}]\n` : ''),
    )
    .join('');
  gw = await startInProcess(`model_list:\n${yaml}`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

const api = (method: string, path: string, body?: unknown, key = MASTER_KEY) => call(gw.url, method, path, body, key);
const ok = (method: string, path: string, body?: unknown, key = MASTER_KEY) => okCall(gw.url, method, path, body, key);
const chat = (key: string, model: string) => api('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, key);

/** The models a key may call, by trying each, and the models /v1/models lists for it: the same. */
async function callable(key: string): Promise<string[]> {
  const can: string[] = [];
  for (const model of Object.keys(MODELS).filter((m) => !m.startsWith('text-'))) {
    const r = await chat(key, model);
    if (r.status === 200) can.push(model);
    else {
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.error.param, 'model');
      assert.match(r.body.error.message, new RegExp(`not allowed to access model "${model}"`));
    }
  }
  const listed = (await ok('GET', '/v1/models', undefined, key)).data.map((m: { id: string }) => m.id).filter((m: string) => !m.startsWith('text-'));
  assert.deepEqual([...listed].sort(), [...can].sort(), '/v1/models lists what the key may call');
  const info = (await ok('GET', '/model/info', undefined, key)).data.map((d: { model_name: string }) => d.model_name).filter((m: string) => !m.startsWith('text-'));
  assert.deepEqual([...info].sort(), [...can].sort(), '/model/info shows what the key may call');
  return can.sort();
}

describe('model access on the LLM routes', () => {
  test('a key of access groups and wildcards calls and lists those models only', async () => {
    assert.deepEqual(await callable((await ok('POST', '/key/generate', { models: ['basic'] })).key), ['gpt-3.5-turbo', 'gpt-4o-mini']);
    assert.deepEqual(await callable((await ok('POST', '/key/generate', { models: ['gpt-4*'] })).key), ['gpt-4', 'gpt-4o-mini']);
    assert.deepEqual(await callable((await ok('POST', '/key/generate', { models: ['premium', 'gpt-3.5-turbo'] })).key), ['gpt-3.5-turbo', 'gpt-4', 'gpt-4o-mini']);
    assert.deepEqual(await callable((await ok('POST', '/key/generate', {})).key), ['gpt-3.5-turbo', 'gpt-4', 'gpt-4o-mini']);
  });

  test("a team's key gets its team's models within its organization's; the refusal names which list refused", async () => {
    await ok('POST', '/organization/new', { organization_id: 'org-premium', organization_alias: 'Premium', models: ['premium'] });
    await ok('POST', '/team/new', { team_id: 'open-team', organization_id: 'org-premium' });
    await ok('POST', '/team/new', { team_id: 'mini-team', organization_id: 'org-premium', models: ['gpt-4o-mini'] });

    const open = (await ok('POST', '/key/generate', { team_id: 'open-team' })).key;
    assert.deepEqual(await callable(open), ['gpt-4', 'gpt-4o-mini'], 'a team of no models gets its organization’s');
    assert.match((await chat(open, 'gpt-3.5-turbo')).body.error.message, /key's organization is not allowed/);

    const mini = (await ok('POST', '/key/generate', { team_id: 'mini-team', models: ['all-team-models'] })).key;
    assert.deepEqual(await callable(mini), ['gpt-4o-mini']);
    assert.match((await chat(mini, 'gpt-4')).body.error.message, /key's team is not allowed/);

    // A key listing a model its team lacks still cannot call it (the admin may make one, as in LiteLLM).
    const wider = (await ok('POST', '/key/generate', { team_id: 'mini-team', models: ['gpt-4', 'gpt-4o-mini'] })).key;
    assert.deepEqual(await callable(wider), ['gpt-4o-mini']);

    // Narrowing the organization narrows every team in it, at once.
    await ok('PATCH', '/organization/update', { organization_id: 'org-premium', models: ['gpt-4o-mini'] });
    assert.deepEqual(await callable(open), ['gpt-4o-mini']);
  });

  test("a key of no team gets its user's models; no-default-models leaves it nothing", async () => {
    const u = await ok('POST', '/user/new', { user_id: 'solo', models: ['gpt-3.5-turbo'] });
    assert.deepEqual(await callable(u.key), ['gpt-3.5-turbo']);
    assert.match((await chat(u.key, 'gpt-4')).body.error.message, /key's user is not allowed/);
    const none = await ok('POST', '/user/new', { user_id: 'team-only', models: ['no-default-models'] });
    assert.deepEqual(await callable(none.key), []);
  });
});

describe('routes a key may call', () => {
  test('key_type llm_api calls models, not the management API; read_only reads, and calls no model', async () => {
    const llm = (await ok('POST', '/key/generate', { key_type: 'llm_api' })).key;
    assert.equal((await chat(llm, 'gpt-4')).status, 200);
    assert.equal((await api('GET', '/v1/models', undefined, llm)).status, 200);
    const info = await api('GET', '/key/info', undefined, llm);
    assert.equal(info.status, 403);
    assert.equal(info.body.error.param, 'allowed_routes');

    const reader = (await ok('POST', '/key/generate', { key_type: 'read_only' })).key;
    assert.equal((await api('GET', '/key/info', undefined, reader)).status, 200);
    const r = await chat(reader, 'gpt-4');
    assert.equal(r.status, 403);
    assert.equal(r.body.error.param, 'allowed_routes');
    assert.match(r.body.error.message, /may not call \/v1\/chat\/completions/);
  });

  test('allowed_routes names routes (with or without /v1) and route groups; the refusal is in the caller’s dialect', async () => {
    const key = (await ok('POST', '/key/generate', { allowed_routes: ['/chat/completions'] })).key;
    assert.equal((await chat(key, 'gpt-4')).status, 200, '/v1/chat/completions is /chat/completions');
    assert.equal((await api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }, key)).status, 200);
    const emb = await api('POST', '/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' }, key);
    assert.equal(emb.status, 403);
    assert.equal(emb.body.error.param, 'allowed_routes');
    assert.equal((await api('GET', '/v1/models', undefined, key)).status, 403);

    // An Anthropic client is refused in Anthropic's envelope.
    const r = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await r.json()) as any;
    assert.equal(r.status, 403);
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'permission_error');
    assert.match(body.error.message, /may not call \/v1\/messages/);

    const group = (await ok('POST', '/key/generate', { allowed_routes: ['llm_api_routes'] })).key;
    assert.equal((await api('POST', '/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' }, group)).status, 200);
    assert.equal((await api('GET', '/key/info', undefined, group)).status, 403);
  });
});

describe('nobody raises their own rights', () => {
  /** An internal user with a key of their own, member (role `user`) of a team, and that team's admin. */
  let cast: Promise<{ member: string; lead: string }> | null = null;
  const people = () => (cast ??= makePeople());
  async function makePeople() {
    await ok('POST', '/team/new', { team_id: 'crew', models: ['basic'] });
    await ok('POST', '/team/new', { team_id: 'elsewhere' });
    const member = await ok('POST', '/user/new', { user_id: 'deckhand', user_role: 'internal_user', teams: ['crew'], max_budget: 5, models: ['gpt-3.5-turbo'] });
    const lead = await ok('POST', '/user/new', { user_id: 'captain', user_role: 'internal_user', auto_create_key: false });
    await ok('POST', '/team/member_add', { team_id: 'crew', member: { user_id: 'captain', role: 'admin' } });
    const leadKey = (await ok('POST', '/key/generate', { user_id: 'captain' })).key;
    return { member: member.key as string, lead: leadKey as string };
  }
  const refusedFor = async (key: string, method: string, path: string, body: unknown, pattern: RegExp) => {
    const r = await api(method, path, body, key);
    assert.equal(r.status, 403, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.type, 'auth_error');
    assert.match(r.body.error.message, pattern);
  };

  test("an internal user may not change their own role, budget or models, make keys for a team they are not in, nor see or touch another team's keys and logs", async () => {
    const { member } = await people();
    await refusedFor(member, 'POST', '/user/update', { user_id: 'deckhand', user_role: 'proxy_admin' }, /user_role/);
    await refusedFor(member, 'POST', '/user/update', { user_id: 'deckhand', max_budget: 1000 }, /max_budget/);
    await refusedFor(member, 'POST', '/user/update', { user_id: 'deckhand', models: ['gpt-4'] }, /models/);
    await refusedFor(member, 'POST', '/key/generate', { team_id: 'elsewhere' }, /elsewhere/);
    await refusedFor(member, 'POST', '/team/member_update', { team_id: 'crew', user_id: 'deckhand', role: 'admin' }, /Not allowed/);
    await refusedFor(member, 'POST', '/team/member_add', { team_id: 'crew', member: { user_id: 'stowaway', role: 'admin' } }, /Not allowed/);
    // Another team's logs and keys stay out of sight; another user's key is not theirs to regenerate.
    const outsider = (await ok('POST', '/key/generate', { team_id: 'elsewhere', key_alias: 'elsewhere-key' })).key;
    assert.equal((await chat(outsider, 'gpt-4')).status, 200);
    const logs = await ok('GET', '/spend/logs?team_id=elsewhere', undefined, member);
    assert.equal(logs.total, 0, JSON.stringify(logs.data));
    assert.equal((await ok('GET', `/spend/logs?api_key=${outsider}`, undefined, member)).total, 0);
    assert.ok((await ok('GET', '/spend/logs?team_id=elsewhere')).total >= 1, 'the admin sees them');
    await refusedFor(member, 'GET', '/team/info?team_id=elsewhere', undefined, /Not allowed/);
    await refusedFor(member, 'GET', `/key/info?key=${outsider}`, undefined, /Not allowed/);
    await refusedFor(member, 'POST', '/key/regenerate', { key: outsider }, /Not allowed/);
    await refusedFor(member, 'POST', '/key/delete', { keys: [outsider] }, /Not allowed/);
    assert.equal((await chat(outsider, 'gpt-4')).status, 200, 'the other key still works');
    // Their own details they may change.
    assert.equal((await ok('POST', '/user/update', { user_id: 'deckhand', user_alias: 'Deck Hand' }, member)).data.user_alias, 'Deck Hand');
  });

  test('a key may narrow itself, never widen: models, budget, model budgets, routes, cache controls, blocked', async () => {
    const { member } = await people();
    const mmb = (usd: number, period = '1d') => ({ 'gpt-3.5-turbo': { budget_limit: usd, time_period: period } });
    const own = (await ok('POST', '/key/generate', { team_id: 'crew', models: ['gpt-3.5-turbo'], max_budget: 1, key_type: 'llm_api', model_max_budget: mmb(1), allowed_cache_controls: ['no-cache'] }, member)).key;
    await refusedFor(member, 'POST', '/key/update', { key: own, allowed_cache_controls: [] }, /allowed_cache_controls/);
    await refusedFor(member, 'POST', '/key/update', { key: own, allowed_cache_controls: ['no-cache', 'no-store'] }, /allowed_cache_controls/);
    await refusedFor(member, 'POST', '/key/update', { key: own, model_max_budget: mmb(2) }, /model_max_budget/);
    await refusedFor(member, 'POST', '/key/update', { key: own, model_max_budget: mmb(1, '1mo') }, /model_max_budget/);
    await refusedFor(member, 'POST', '/key/update', { key: own, model_max_budget: {} }, /model_max_budget/);
    assert.deepEqual((await ok('POST', '/key/update', { key: own, model_max_budget: mmb(0.5) }, member)).model_max_budget, mmb(0.5));
    await refusedFor(member, 'POST', '/key/update', { key: own, models: ['gpt-3.5-turbo', 'gpt-4o-mini'] }, /models/);
    await refusedFor(member, 'POST', '/key/update', { key: own, max_budget: 2 }, /max_budget/);
    await refusedFor(member, 'POST', '/key/update', { key: own, allowed_routes: [] }, /allowed_routes/);
    assert.equal((await ok('POST', '/key/update', { key: own, max_budget: 0.5 }, member)).max_budget, 0.5);
    await ok('POST', '/key/block', { key: own });
    await refusedFor(member, 'POST', '/key/update', { key: own, blocked: false }, /unblock/);
    await refusedFor(member, 'POST', '/key/unblock', { key: own }, /Not allowed/);
  });

  test('a team admin manages their team, not another, and makes nobody an admin of the proxy', async () => {
    const { lead } = await people();
    await ok('POST', '/team/member_add', { team_id: 'crew', member: { user_email: 'cook@example.com', role: 'user' } }, lead);
    await refusedFor(lead, 'POST', '/team/member_add', { team_id: 'elsewhere', member: { user_id: 'captain', role: 'admin' } }, /Not allowed/);
    await refusedFor(lead, 'POST', '/team/update', { team_id: 'crew', models: ['gpt-4'] }, /Not allowed/);
    await refusedFor(lead, 'POST', '/user/new', { user_id: 'mate', user_role: 'proxy_admin' }, /Not allowed/);
    await refusedFor(lead, 'POST', '/user/update', { user_id: 'deckhand', user_role: 'proxy_admin' }, /Not allowed/);
    await refusedFor(lead, 'POST', '/key/generate', { team_id: 'crew', models: ['gpt-4'] }, /model "gpt-4" is not one the key's team may use/);
    // A key for a member of the team, within the team's models.
    const k = await ok('POST', '/key/generate', { team_id: 'crew', user_id: 'deckhand' }, lead);
    assert.equal((await chat(k.key, 'gpt-3.5-turbo')).status, 200);
    assert.equal((await chat(k.key, 'gpt-4')).status, 403);
  });
});
