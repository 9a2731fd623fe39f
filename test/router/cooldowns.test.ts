// Cooldowns: a deployment failing more than allowed_fails times a minute (or answering 429) rests for
// cooldown_time, its group's calls going to the others; a group of one never rests; a group all
// resting answers 429 with retry-after, as LiteLLM's router does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/databases.ts';

let fake: FakeUpstream;
let other: FakeUpstream;
let gw: TestGateway;
let dead: string;

before(async () => {
  fake = await startFakeOpenAI();
  other = await startFakeOpenAI();
  // Nothing listens there: every call to it fails to connect.
  dead = `http://127.0.0.1:${await freePort()}`;
  gw = await startInProcess(`model_list:
  - model_name: half-down
    litellm_params: { model: openai/gpt-4, api_base: ${fake.url} }
  - model_name: half-down
    litellm_params: { model: openai/gpt-4, api_base: ${dead} }
  - model_name: alone-down
    litellm_params: { model: openai/gpt-4, api_base: ${dead} }
  - model_name: all-down
    litellm_params: { model: openai/gpt-4, api_base: ${dead} }
  - model_name: all-down
    litellm_params: { model: openai/gpt-4, api_base: ${dead}/other }
  - model_name: limited
    litellm_params: { model: openai/gpt-4, api_base: ${fake.url} }
  - model_name: limited
    litellm_params: { model: openai/gpt-4, api_base: ${other.url} }
router_settings:
  allowed_fails: 1
  cooldown_time: 1.5
`);
});
after(async () => {
  await gw.close();
  await fake.close();
  await other.close();
});

async function chat(model: string, content = 'hi') {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

test('a deployment failing more than allowed_fails times rests for cooldown_time; then it is tried again', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await chat('half-down')).status);
  // Two failures (allowed_fails 1, then one more) and it rests: the rest go to the live one.
  assert.equal(statuses.filter((s) => s !== 200).length, 2, statuses.join(' '));
  await new Promise((r) => setTimeout(r, 1600));
  const after: number[] = [];
  for (let i = 0; i < 30; i++) after.push((await chat('half-down')).status);
  assert.ok(after.some((s) => s !== 200), 'back in the picks once rested');
});

test('a group of one deployment never rests: its errors are the provider\'s', async () => {
  for (let i = 0; i < 4; i++) {
    const r = await chat('alone-down');
    assert.equal(r.status, 502);
    assert.equal(r.body.error.type, 'api_connection_error');
  }
});

test('a group whose deployments all rest answers 429 with retry-after, naming it', async () => {
  for (let i = 0; i < 4; i++) await chat('all-down');
  const r = await chat('all-down');
  assert.equal(r.status, 429);
  assert.match(r.body.error.message, /No deployments available for model all-down: all are cooling down/);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
});

test('a 429 from the provider rests that deployment at once', async () => {
  const first = await chat('limited', '[[status:429]] [[retry-after:0]]');
  assert.equal(first.status, 429);
  const used = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await chat('limited');
    assert.equal(r.status, 200);
    used.add(r.headers.get('x-litellm-model-id')!);
  }
  assert.equal(used.size, 1, 'the deployment that answered 429 rests');
});
