// Rate limits above the key, on one instance: a team's rpm, tpm and max_parallel_requests shared by
// all its keys, a user's over all of theirs, a team member's, an organization's and a customer's
// (from their budget rows); the refusal names the level, and a call refused at one level takes no
// quota at any other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { call, fakeModels, okCall, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(fakeModels(fake.url));
});
after(async () => {
  await gw.close();
  await fake.close();
});

const ok = (path: string, body: unknown) => okCall(gw.url, 'POST', path, body);
async function chat(key: string, content = 'hi') {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }] }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
const keysOf = (team: string, n: number, extra: Record<string, unknown> = {}) =>
  Promise.all(Array.from({ length: n }, async () => (await ok('/key/generate', { team_id: team, ...extra })).key as string));

test("a team's rpm_limit holds across all its keys under concurrency, answering 429 that names the team", async () => {
  await ok('/team/new', { team_id: 'rpm-team', rpm_limit: 5 });
  const keys = await keysOf('rpm-team', 3);
  const results = await Promise.all(Array.from({ length: 21 }, (_, i) => chat(keys[i % 3]!)));
  assert.equal(results.filter((r) => r.status === 200).length, 5);
  const refused = results.find((r) => r.status === 429)!;
  assert.equal(refused.body.error.type, 'rate_limit_error');
  assert.match(refused.body.error.message, /^Rate limit reached: rpm_limit of team rpm-team \(5 requests per minute\)/);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '5');
});

test('a call refused by the team takes nothing from its key, and the other way round', async () => {
  await ok('/team/new', { team_id: 'narrow-team', rpm_limit: 2 });
  const [key] = await keysOf('narrow-team', 1, { rpm_limit: 10 });
  const first = await Promise.all(Array.from({ length: 6 }, () => chat(key!)));
  assert.equal(first.filter((r) => r.status === 200).length, 2);
  for (const r of first.filter((x) => x.status === 429)) assert.match(r.body.error.message, /of team narrow-team/);
  // With the team's limit raised, the key still has 8 of its 10: the 4 the team refused cost it nothing.
  await ok('/team/update', { team_id: 'narrow-team', rpm_limit: 1000 });
  const second = await Promise.all(Array.from({ length: 12 }, () => chat(key!)));
  assert.equal(second.filter((r) => r.status === 200).length, 8);
  assert.match(second.find((r) => r.status === 429)!.body.error.message, /rpm_limit of this key \(10 requests/);
  // And the 4 the key refused cost the team nothing: 2 + 8 counted, not 14.
  const [other] = await keysOf('narrow-team', 1);
  await ok('/team/update', { team_id: 'narrow-team', rpm_limit: 11 });
  assert.equal((await chat(other!)).status, 200);
  assert.equal((await chat(other!)).status, 429);
});

test("a team's max_parallel_requests holds across its keys, and its slots come back", async () => {
  await ok('/team/new', { team_id: 'narrow-pipe', max_parallel_requests: 2 });
  const keys = await keysOf('narrow-pipe', 4);
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(keys[i % 4]!, '[[delay:150]] slow')));
  assert.equal(results.filter((r) => r.status === 200).length, 2);
  assert.match(results.find((r) => r.status === 429)!.body.error.message, /max_parallel_requests of team narrow-pipe \(2\) are in flight/);
  assert.deepEqual(gw.app.ctx.limiter.held(), { reservations: 0, slots: 0 });
  assert.equal((await chat(keys[0]!)).status, 200);
});

test("a team's model_rpm_limit and model_tpm_limit hold one model across all its keys, kept in its metadata as LiteLLM keeps them", async () => {
  const team = await ok('/team/new', { team_id: 'per-model', model_rpm_limit: { 'gpt-4': 2 }, model_tpm_limit: { 'gpt-3.5-turbo': 20 } });
  assert.deepEqual(team.metadata, { model_rpm_limit: { 'gpt-4': 2 }, model_tpm_limit: { 'gpt-3.5-turbo': 20 } });
  const keys = await keysOf('per-model', 3);
  const results = await Promise.all(Array.from({ length: 9 }, (_, i) => chat(keys[i % 3]!)));
  assert.equal(results.filter((r) => r.status === 200).length, 2);
  const refused = results.find((r) => r.status === 429)!;
  assert.match(refused.body.error.message, /^Rate limit reached: model_rpm_limit of team per-model for gpt-4 \(2 requests per minute\)/);
  assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '2');
  // The other model has a token limit of its own, not the rpm: one call's 16 tokens fill it.
  const other = (key: string) =>
    fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] }) }).then(
      async (r) => ({ status: r.status, body: (await r.json()) as any }),
    );
  assert.equal((await other(keys[0]!)).status, 200);
  const full = await other(keys[1]!);
  assert.equal(full.status, 429);
  assert.match(full.body.error.message, /model_tpm_limit of team per-model for gpt-3\.5-turbo \(20 tokens per minute\)/);

  // New metadata keeps the limits unless it names them; null removes one.
  const kept = await ok('/team/update', { team_id: 'per-model', metadata: { cost_center: 'x' } });
  assert.deepEqual(kept.data.metadata, { cost_center: 'x', model_rpm_limit: { 'gpt-4': 2 }, model_tpm_limit: { 'gpt-3.5-turbo': 20 } });
  const removed = await ok('/team/update', { team_id: 'per-model', model_rpm_limit: null });
  assert.deepEqual(removed.data.metadata, { cost_center: 'x', model_tpm_limit: { 'gpt-3.5-turbo': 20 } });
  assert.equal((await chat(keys[2]!)).status, 200, 'gpt-4 is no longer limited');
  const bad = await call(gw.url, 'POST', '/team/update', { team_id: 'per-model', model_rpm_limit: { 'gpt-4': -1 } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /model_rpm_limit/);
});

test("a user's tpm_limit counts the tokens of all their keys", async () => {
  const u = await ok('/user/new', { user_id: 'wordy', tpm_limit: 20 });
  const second = (await ok('/key/generate', { user_id: 'wordy' })).key;
  // A call holds its expected tokens, at most the limit: the first fits the empty window. The fake
  // answers with 15 output tokens and 1 prompt token: the 16 it used leave no room for another call.
  assert.equal((await chat(u.key)).status, 200);
  const r = await chat(second);
  assert.equal(r.status, 429);
  assert.match(r.body.error.message, /^Rate limit reached: tpm_limit of user wordy \(20 tokens per minute\)/);
  assert.equal(r.headers.get('x-ratelimit-limit-tokens'), '20');
});

test("a team member's rpm_limit (/team/member_update) holds all their keys in the team, not the team's other members", async () => {
  await ok('/team/new', { team_id: 'member-rpm' });
  for (const u of ['rpm-member', 'rpm-other']) {
    await ok('/user/new', { user_id: u, auto_create_key: false });
    await ok('/team/member_add', { team_id: 'member-rpm', member: { user_id: u, role: 'user' } });
  }
  const updated = await ok('/team/member_update', { team_id: 'member-rpm', user_id: 'rpm-member', rpm_limit: 3 });
  assert.equal(updated.rpm_limit, 3);
  const keys = await keysOf('member-rpm', 2, { user_id: 'rpm-member' });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => chat(keys[i % 2]!)));
  assert.equal(results.filter((r) => r.status === 200).length, 3);
  assert.match(results.find((r) => r.status === 429)!.body.error.message, /^Rate limit reached: rpm_limit of team member rpm-member in team member-rpm \(3 requests per minute\)/);
  const [other] = await keysOf('member-rpm', 1, { user_id: 'rpm-other' });
  assert.equal((await chat(other!)).status, 200);
});

test("an organization's rpm_limit holds the keys of all its teams", async () => {
  await ok('/organization/new', { organization_id: 'org-rpm', organization_alias: 'Org rpm', rpm_limit: 4 });
  for (const t of ['org-rpm-a', 'org-rpm-b']) await ok('/team/new', { team_id: t, organization_id: 'org-rpm' });
  const keys = [...(await keysOf('org-rpm-a', 2)), ...(await keysOf('org-rpm-b', 2))];
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => chat(keys[i % 4]!)));
  assert.equal(results.filter((r) => r.status === 200).length, 4);
  assert.match(results.find((r) => r.status === 429)!.body.error.message, /rpm_limit of organization org-rpm \(4 requests/);
});

test("a customer's max_parallel_requests and tpm_limit hold every key that calls for them", async () => {
  await ok('/customer/new', { user_id: 'narrow-customer', max_parallel_requests: 1 });
  const keys = await Promise.all([1, 2].map(async () => (await ok('/key/generate', {})).key as string));
  const forCustomer = (key: string, content: string, user = 'narrow-customer') =>
    fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4', user, messages: [{ role: 'user', content }] }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const results = await Promise.all([forCustomer(keys[0]!, '[[delay:150]] slow'), forCustomer(keys[1]!, '[[delay:150]] slow')]);
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 429]);
  assert.match(results.find((r) => r.status === 429)!.body.error.message, /max_parallel_requests of customer narrow-customer \(1\) are in flight/);
  assert.equal((await forCustomer(keys[1]!, 'fast', 'another-customer')).status, 200);

  await ok('/customer/new', { user_id: 'wordy-customer', tpm_limit: 20 });
  assert.equal((await forCustomer(keys[0]!, 'hi', 'wordy-customer')).status, 200);
  const r = await forCustomer(keys[1]!, 'hi', 'wordy-customer');
  assert.equal(r.status, 429);
  assert.match(r.body.error.message, /tpm_limit of customer wordy-customer \(20 tokens per minute\)/);
});
