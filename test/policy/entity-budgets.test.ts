// Budgets above the key, hard on one instance: a team's budget shared by all its keys, a user's
// personal budget on their keys of no team (and on team keys when configured so), a team member's
// share, an organization's over all its teams, a customer's over every key that names them, a tag's
// over every call that carries it, a key's per-model budgets and the proxy's over every key: each held
// with the key's in one atomic reservation, metered along streams, released on every exit, reset by
// period.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { budgetModelOf } from '../../src/pipeline/admit.ts';
import { call, MASTER_KEY, okCall, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
let gw: TestGateway;
let strictUser: TestGateway;

// 1 $/MTok in, 2 $/MTok out: 1,000 and 2,000 nano-dollars per token.
const MODELS = (url: string) => `model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${url}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: cheap
    litellm_params: { model: openai/cheap, api_base: "${url}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
`;
// One answer: 1 prompt token (the fake counts words) + 15 output tokens.
const ANSWER = 1 * 1000 + 15 * 2000;
/** Room for one answer's reservation (its prompt estimate, body bytes / 4, and max_tokens), not for two. */
const ROOM_FOR_ONE = 2 * ANSWER;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(MODELS(fake.url));
  strictUser = await startInProcess(`${MODELS(fake.url)}general_settings:\n  apply_user_budget_to_team_keys: true\n`);
});
after(async () => {
  await gw.close();
  await strictUser.close();
  await fake.close();
});

const ok = (g: TestGateway, path: string, body: unknown) => okCall(g.url, 'POST', path, body);
async function chat(g: TestGateway, key: string, extra: Record<string, unknown> = {}, content = 'hi') {
  const res = await fetch(`${g.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }], ...extra }),
  });
  const text = await res.text();
  return { status: res.status, text, body: text.startsWith('{') ? JSON.parse(text) : null };
}
/** The spend the ledger recorded for a filter of /spend/logs, in nano-dollars. */
async function logged(g: TestGateway, filter: string): Promise<number> {
  const r = await call(g.url, 'GET', `/spend/logs?${filter}&page_size=1000`);
  return r.body.data.reduce((s: number, l: any) => s + Math.round(l.spend * 1e9), 0);
}
const held = (g: TestGateway) => g.app.ctx.limiter.held();

type Answer = Awaited<ReturnType<typeof chat>>;
/**
 * A run of parallel calls on a budget: each answered or refused with a refusal naming the budget
 * (`who`), the spend the ledger recorded (`filter` of /spend/logs) never over the budget, exactly
 * what the clients were shown, at least half of it; nothing held afterwards. Returns the spend.
 */
async function assertHeld(g: TestGateway, results: Answer[], budget: number, filter: string, who: string): Promise<number> {
  const answered = results.filter((r) => r.status === 200 && !r.text.includes('"error"'));
  const refused = results.filter((r) => r.status === 429);
  assert.equal(answered.length + refused.length, results.length);
  for (const r of refused) {
    assert.equal(r.body.error.type, 'budget_exceeded');
    assert.match(r.body.error.message, new RegExp(`^Budget has been exceeded! ${who} Current cost: [0-9.e-]+, Max budget: ${budget / 1e9} `));
  }
  const spent = await logged(g, filter);
  assert.ok(spent <= budget, `spent ${spent} > budget ${budget}`);
  assert.equal(spent, answered.length * ANSWER, 'spend is exactly what the clients were shown');
  assert.ok(spent >= budget / 2, `only ${spent} of ${budget} used`);
  assert.deepEqual(held(g), { reservations: 0, slots: 0 });
  return spent;
}

describe('team budgets', () => {
  for (const stream of [false, true]) {
    test(`100 parallel requests over 5 keys of a team whose budget fits 10 answers: never over, at least half used (${stream ? 'streamed' : 'plain'})`, async () => {
      const team = `fits-ten-${stream}`;
      const budget = 10 * ANSWER;
      await ok(gw, '/team/new', { team_id: team, max_budget: budget / 1e9 });
      const keys = await Promise.all(Array.from({ length: 5 }, async () => (await ok(gw, '/key/generate', { team_id: team })).key as string));
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(gw, keys[i % 5]!, { max_tokens: 15, stream })));
      const spent = await assertHeld(gw, results, budget, `team_id=${team}`, `Team=${team}`);
      const info = (await call(gw.url, 'GET', `/team/info?team_id=${team}`)).body.team_info;
      assert.equal(Math.round(info.spend * 1e9), spent, "the team's live spend is the ledger's");
    });
  }

  test('a stream cut by the team budget while the other keys of the team spend in parallel', async () => {
    // Room for about 100 output tokens in all; the long stream alone would produce 2,000.
    const budget = 5_000 + 100 * 2000;
    await ok(gw, '/team/new', { team_id: 'cut-team', max_budget: budget / 1e9 });
    const long = (await ok(gw, '/key/generate', { team_id: 'cut-team' })).key;
    const others = await Promise.all(Array.from({ length: 3 }, async () => (await ok(gw, '/key/generate', { team_id: 'cut-team' })).key as string));
    const before = fake.requests.length;
    const [r, ...rest] = await Promise.all([
      chat(gw, long, { stream: true, max_tokens: 100_000 }, '[[chunks:2000]] [[gap:1]] long'),
      ...others.flatMap((k) => [chat(gw, k, { max_tokens: 15 }), chat(gw, k, { max_tokens: 15, stream: true })]),
    ]);
    assert.equal(r!.status, 200);
    const frames = r!.text.split('\n\n').filter(Boolean);
    const last = JSON.parse(frames.at(-1)!.slice(6));
    assert.equal(last.error.type, 'budget_exceeded');
    assert.ok(!r!.text.includes('[DONE]'));
    assert.ok(fake.requests.length > before);
    for (const x of rest) assert.ok(x.status === 200 || x.status === 429, String(x.status));
    const spent = await logged(gw, 'team_id=cut-team');
    // Bound: one metering step of the long stream (a quarter of its reservation) and the chunks in
    // flight, beyond what the budget allows; the short answers are reserved whole.
    assert.ok(spent <= budget * 1.5, `spent ${spent} of ${budget}`);
    assert.deepEqual(held(gw), { reservations: 0, slots: 0 });
  });

  test("a team's spent budget refuses all its keys, new ones too, and lets them through once its period ends, not before", async () => {
    await ok(gw, '/team/new', { team_id: 'periodic', max_budget: ROOM_FOR_ONE / 1e9, budget_duration: '2s' });
    const a = (await ok(gw, '/key/generate', { team_id: 'periodic' })).key;
    assert.equal((await chat(gw, a, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300)); // the record reaches the database
    const b = (await ok(gw, '/key/generate', { team_id: 'periodic' })).key;
    const refused = await chat(gw, b, { max_tokens: 15 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /Team=periodic .* It resets at \d{4}-\d\d-\d\dT/);
    const resetAt = Date.parse((await call(gw.url, 'GET', '/team/info?team_id=periodic')).body.team_info.budget_reset_at);
    assert.ok(Date.now() < resetAt);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    const info = (await call(gw.url, 'GET', '/team/info?team_id=periodic')).body.team_info;
    assert.equal(info.spend, 0);
    assert.ok(Date.parse(info.budget_reset_at) > resetAt);
    assert.equal((await chat(gw, b, { max_tokens: 15 })).status, 200);
  });
});

test("a team's refusal reaches an Anthropic client in Anthropic's envelope, naming the team", async () => {
  await ok(gw, '/team/new', { team_id: 'anthropic-team', max_budget: ROOM_FOR_ONE / 1e9 });
  const key = (await ok(gw, '/key/generate', { team_id: 'anthropic-team' })).key;
  const messages = () =>
    fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4', max_tokens: 15, messages: [{ role: 'user', content: 'hi' }] }),
    });
  assert.equal((await messages()).status, 200);
  await new Promise((r) => setTimeout(r, 300));
  const r = await messages();
  const body = (await r.json()) as any;
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('x-should-retry'), 'false');
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'rate_limit_error');
  assert.match(body.error.message, /^Budget has been exceeded! Team=anthropic-team /);
});

describe('user budgets', () => {
  test("a user's personal budget holds their keys of no team, together; their team keys draw on the team's", async () => {
    const budget = 3 * ANSWER;
    const u = await ok(gw, '/user/new', { user_id: 'frugal', max_budget: budget / 1e9 });
    const second = (await ok(gw, '/key/generate', { user_id: 'frugal' })).key;
    await ok(gw, '/team/new', { team_id: 'frugal-team' });
    await ok(gw, '/team/member_add', { team_id: 'frugal-team', member: { user_id: 'frugal', role: 'user' } });
    const teamKey = (await ok(gw, '/key/generate', { user_id: 'frugal', team_id: 'frugal-team' })).key;

    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(gw, i % 2 ? u.key : second, { max_tokens: 15 })));
    const answered = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status === 429);
    assert.equal(answered + refused.length, 20);
    assert.ok(answered >= 1 && answered * ANSWER <= budget, `${answered} answered`);
    assert.match(refused[0]!.body.error.message, /^Budget has been exceeded! User=frugal /);
    // The team key is the team's business (LiteLLM: a user's budget is personal).
    assert.equal((await chat(gw, teamKey, { max_tokens: 15 })).status, 200);
    assert.deepEqual(held(gw), { reservations: 0, slots: 0 });
  });

  test('with apply_user_budget_to_team_keys, a team key is held against its user too', async () => {
    await ok(strictUser, '/user/new', { user_id: 'capped', max_budget: ROOM_FOR_ONE / 1e9, auto_create_key: false });
    await ok(strictUser, '/team/new', { team_id: 'roomy', max_budget: 1 });
    await ok(strictUser, '/team/member_add', { team_id: 'roomy', member: { user_id: 'capped', role: 'user' } });
    const key = (await ok(strictUser, '/key/generate', { user_id: 'capped', team_id: 'roomy' })).key;
    assert.equal((await chat(strictUser, key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const r = await chat(strictUser, key, { max_tokens: 15 });
    assert.equal(r.status, 429);
    assert.match(r.body.error.message, /User=capped/);
  });

  test("a user's period resets too", async () => {
    const u = await ok(gw, '/user/new', { user_id: 'monthly', max_budget: ROOM_FOR_ONE / 1e9, budget_duration: '2s' });
    assert.equal((await chat(gw, u.key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await chat(gw, u.key, { max_tokens: 15 })).status, 429);
    const resetAt = Date.parse((await call(gw.url, 'GET', '/user/info?user_id=monthly')).body.user_info.budget_reset_at);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await call(gw.url, 'GET', '/user/info?user_id=monthly')).body.user_info.spend, 0);
    assert.equal((await chat(gw, u.key, { max_tokens: 15 })).status, 200);
  });
});

describe('team member budgets', () => {
  test("100 parallel requests over 3 keys of a member whose share of the team (max_budget_in_team) fits 10 answers; the team's other members spend their own", async () => {
    const budget = 10 * ANSWER;
    await ok(gw, '/team/new', { team_id: 'shares', max_budget: 1 });
    await ok(gw, '/user/new', { user_id: 'sharer', auto_create_key: false });
    await ok(gw, '/user/new', { user_id: 'other-sharer', auto_create_key: false });
    await ok(gw, '/team/member_add', { team_id: 'shares', member: { user_id: 'sharer', role: 'user' }, max_budget_in_team: budget / 1e9 });
    await ok(gw, '/team/member_add', { team_id: 'shares', member: { user_id: 'other-sharer', role: 'user' } });
    const keys = await Promise.all(Array.from({ length: 3 }, async () => (await ok(gw, '/key/generate', { team_id: 'shares', user_id: 'sharer' })).key as string));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(gw, keys[i % 3]!, { max_tokens: 15, stream: i % 2 === 0 })));
    const spent = await assertHeld(gw, results, budget, 'team_id=shares&user_id=sharer', 'User=sharer in Team=shares');
    // The member's spend in the team is what the ledger recorded for them.
    const info = (await call(gw.url, 'GET', '/team/info?team_id=shares')).body;
    const membership = info.team_memberships.find((m: any) => m.user_id === 'sharer');
    assert.equal(Math.round(membership.spend * 1e9), spent);
    assert.equal(membership.litellm_budget_table.max_budget, budget / 1e9);
    // Another member of the team, and a key of the team without a user, are not held by that share.
    const other = (await ok(gw, '/key/generate', { team_id: 'shares', user_id: 'other-sharer' })).key;
    assert.equal((await chat(gw, other, { max_tokens: 15 })).status, 200);
    const teamOnly = (await ok(gw, '/key/generate', { team_id: 'shares' })).key;
    assert.equal((await chat(gw, teamOnly, { max_tokens: 15 })).status, 200);
    // The same user's key of no team is not held by it either.
    const personal = (await ok(gw, '/key/generate', { user_id: 'sharer' })).key;
    assert.equal((await chat(gw, personal, { max_tokens: 15 })).status, 200);
  });

  test("a team's default member budget (team_member_budget) holds each member on their own; one given their own share keeps it, the others the default", async () => {
    await ok(gw, '/user/new', { user_id: 'early-member', auto_create_key: false });
    await ok(gw, '/team/new', { team_id: 'defaults', members_with_roles: [{ role: 'user', user_id: 'early-member' }], team_member_budget: ROOM_FOR_ONE / 1e9 });
    const info = async () => (await call(gw.url, 'GET', '/team/info?team_id=defaults')).body;
    const defaultId = (await info()).team_info.metadata.team_member_budget_id;
    assert.equal(typeof defaultId, 'string');
    await ok(gw, '/team/member_add', { team_id: 'defaults', member: { user_id: 'late-member', role: 'user' } });
    for (const m of (await info()).team_memberships) assert.equal(m.budget_id, defaultId, `${m.user_id} is on the default`);
    const keyOf = async (user: string) => (await ok(gw, '/key/generate', { team_id: 'defaults', user_id: user })).key as string;
    const [early, late] = [await keyOf('early-member'), await keyOf('late-member')];
    // Room for one answer each, on their own.
    for (const k of [early, late]) {
      assert.equal((await chat(gw, k, { max_tokens: 15 })).status, 200);
      await new Promise((r) => setTimeout(r, 200));
      const refused = await chat(gw, k, { max_tokens: 15 });
      assert.equal(refused.status, 429);
      assert.match(refused.body.error.message, /^Budget has been exceeded! User=(early|late)-member in Team=defaults /);
    }
    // Raising one member's share gives them a row of their own; the default and the other stay.
    await ok(gw, '/team/member_update', { team_id: 'defaults', user_id: 'late-member', max_budget_in_team: 1 });
    assert.equal((await chat(gw, late, { max_tokens: 15 })).status, 200);
    assert.equal((await chat(gw, early, { max_tokens: 15 })).status, 429);
    // Raising the default (/team/update) raises everyone still on it; the link survives a metadata update.
    await ok(gw, '/team/update', { team_id: 'defaults', team_member_budget: 1, metadata: { owner: 'qa' } });
    assert.equal((await chat(gw, early, { max_tokens: 15 })).status, 200);
    const after = (await info()).team_info.metadata;
    assert.deepEqual(after, { owner: 'qa', team_member_budget_id: defaultId });
    // Set on a team later: its members with no share of their own are put on it.
    await ok(gw, '/team/new', { team_id: 'defaults-later', members_with_roles: [{ role: 'user', user_id: 'early-member' }] });
    await ok(gw, '/team/update', { team_id: 'defaults-later', team_member_budget: 0 });
    const later = (await call(gw.url, 'GET', '/team/info?team_id=defaults-later')).body;
    assert.equal(later.team_memberships[0].budget_id, later.team_info.metadata.team_member_budget_id);
    const refused = await chat(gw, (await ok(gw, '/key/generate', { team_id: 'defaults-later', user_id: 'early-member' })).key, { max_tokens: 15 });
    assert.match(refused.body.error.message, /^Budget has been exceeded! User=early-member in Team=defaults-later /);
  });

  test('a share raised with /team/member_update takes effect at once; one given, removed from the team, holds no more', async () => {
    await ok(gw, '/team/new', { team_id: 'resharing' });
    await ok(gw, '/user/new', { user_id: 'resharer', auto_create_key: false });
    await ok(gw, '/team/member_add', { team_id: 'resharing', member: { user_id: 'resharer', role: 'user' } });
    const key = (await ok(gw, '/key/generate', { team_id: 'resharing', user_id: 'resharer' })).key;
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200, 'no share: nothing but the team holds');
    const updated = await ok(gw, '/team/member_update', { team_id: 'resharing', user_id: 'resharer', max_budget_in_team: ROOM_FOR_ONE / 1e9 });
    assert.equal(updated.max_budget_in_team, ROOM_FOR_ONE / 1e9);
    // The member's spend in the team so far counts: one answer, and the share has room for one reservation, not more.
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(gw, key, { max_tokens: 15 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /^Budget has been exceeded! User=resharer in Team=resharing Current cost: /);
    await ok(gw, '/team/member_update', { team_id: 'resharing', user_id: 'resharer', max_budget_in_team: 1 });
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200, 'raised: at once');
    await ok(gw, '/team/member_update', { team_id: 'resharing', user_id: 'resharer', max_budget_in_team: ROOM_FOR_ONE / 1e9 });
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 429, 'lowered: at once');
    await ok(gw, '/team/member_delete', { team_id: 'resharing', user_id: 'resharer' });
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200, 'no longer a member: no share holds');
  });

  test("a member's share with a period (budget_duration on its budget) starts again from 0 when the period ends", async () => {
    await ok(gw, '/team/new', { team_id: 'periodic-shares' });
    await ok(gw, '/user/new', { user_id: 'periodic-sharer', auto_create_key: false });
    await ok(gw, '/team/member_add', { team_id: 'periodic-shares', member: { user_id: 'periodic-sharer', role: 'user' }, max_budget_in_team: ROOM_FOR_ONE / 1e9 });
    const info = async () => (await call(gw.url, 'GET', '/team/info?team_id=periodic-shares')).body.team_memberships[0];
    await ok(gw, '/budget/update', { budget_id: (await info()).budget_id, budget_duration: '2s' });
    const key = (await ok(gw, '/key/generate', { team_id: 'periodic-shares', user_id: 'periodic-sharer' })).key;
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(gw, key, { max_tokens: 15 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /User=periodic-sharer in Team=periodic-shares .* It resets at /);
    const resetAt = Date.parse((await info()).litellm_budget_table.budget_reset_at);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await info()).spend, 0);
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200);
  });

  test('ids with colons do not share a counter: team "ca:cb" with user "cc", and team "ca" with user "cb:cc"', async () => {
    const keys: string[] = [];
    for (const [team, user] of [['ca:cb', 'cc'], ['ca', 'cb:cc']] as const) {
      await ok(gw, '/team/new', { team_id: team });
      await ok(gw, '/user/new', { user_id: user, auto_create_key: false });
      await ok(gw, '/team/member_add', { team_id: team, member: { user_id: user, role: 'user' }, max_budget_in_team: ROOM_FOR_ONE / 1e9 });
      keys.push((await ok(gw, '/key/generate', { team_id: team, user_id: user })).key);
    }
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15 })).status, 429);
    assert.equal((await chat(gw, keys[1]!, { max_tokens: 15 })).status, 200, 'the other membership has its own share');
  });
});

describe('organization budgets', () => {
  test('100 parallel requests over the keys of two teams in an organization whose budget fits 10 answers', async () => {
    const budget = 10 * ANSWER;
    await ok(gw, '/organization/new', { organization_id: 'capped-org', organization_alias: 'Capped', max_budget: budget / 1e9 });
    for (const t of ['org-a', 'org-b']) await ok(gw, '/team/new', { team_id: t, organization_id: 'capped-org' });
    const keys = await Promise.all(['org-a', 'org-b', 'org-a', 'org-b'].map(async (t) => (await ok(gw, '/key/generate', { team_id: t })).key as string));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(gw, keys[i % 4]!, { max_tokens: 15, stream: i % 2 === 0 })));
    await assertHeld(gw, results, budget, 'organization_id=capped-org', 'Organization=capped-org');
  });

  test("two organizations on one shared budget each spend their own; raising the budget's limit takes effect at once", async () => {
    await ok(gw, '/budget/new', { budget_id: 'tier-small', max_budget: ROOM_FOR_ONE / 1e9 });
    const keys: string[] = [];
    for (const o of ['tier-1', 'tier-2']) {
      await ok(gw, '/organization/new', { organization_id: o, organization_alias: o, budget_id: 'tier-small' });
      await ok(gw, '/team/new', { team_id: `${o}-team`, organization_id: o });
      keys.push((await ok(gw, '/key/generate', { team_id: `${o}-team` })).key);
    }
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15 })).status, 429, 'tier-1 has spent its share');
    assert.equal((await chat(gw, keys[1]!, { max_tokens: 15 })).status, 200, 'tier-2 has its own');
    await ok(gw, '/budget/update', { budget_id: 'tier-small', max_budget: 1 });
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15 })).status, 200);
  });

  test("an organization's budget period ends: its spend starts again from 0, and its keys get through", async () => {
    await ok(gw, '/organization/new', { organization_id: 'org-periodic', organization_alias: 'Periodic', max_budget: ROOM_FOR_ONE / 1e9, budget_duration: '2s' });
    await ok(gw, '/team/new', { team_id: 'org-periodic-team', organization_id: 'org-periodic' });
    const key = (await ok(gw, '/key/generate', { team_id: 'org-periodic-team' })).key;
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(gw, key, { max_tokens: 15 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /Organization=org-periodic .* It resets at /);
    const info = async () => (await call(gw.url, 'GET', '/organization/info?organization_id=org-periodic')).body;
    const resetAt = Date.parse((await info()).litellm_budget_table.budget_reset_at);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    const after = await info();
    assert.equal(after.spend, 0);
    assert.ok(Date.parse(after.litellm_budget_table.budget_reset_at) > resetAt);
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200);
  });
});

describe('customer budgets', () => {
  test('100 parallel requests for one customer over 4 keys, on a budget that fits 10 answers; other customers and calls for nobody pass', async () => {
    const budget = 10 * ANSWER;
    await ok(gw, '/customer/new', { user_id: 'shopper-capped', max_budget: budget / 1e9 });
    const keys = await Promise.all(Array.from({ length: 4 }, async () => (await ok(gw, '/key/generate', {})).key as string));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(gw, keys[i % 4]!, { max_tokens: 15, stream: i % 2 === 1, user: 'shopper-capped' })));
    const spent = await assertHeld(gw, results, budget, 'end_user=shopper-capped', 'Customer=shopper-capped');
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15, user: 'shopper-free' })).status, 200);
    assert.equal((await chat(gw, keys[0]!, { max_tokens: 15 })).status, 200);
    const info = (await call(gw.url, 'GET', '/customer/info?end_user_id=shopper-capped')).body;
    assert.equal(Math.round(info.spend * 1e9), spent);
  });
});

describe('tag budgets', () => {
  test("100 parallel requests naming a tag (in metadata.tags, in x-litellm-tags, or by their key's tags) on a budget that fits 10 answers", async () => {
    const budget = 10 * ANSWER;
    const made = await ok(gw, '/tag/new', { name: 'project:alpha', description: 'Alpha', max_budget: budget / 1e9, budget_duration: '30d' });
    assert.equal(made.tag.name, 'project:alpha');
    assert.equal(made.tag.litellm_budget_table.max_budget, budget / 1e9);
    const [plain, tagged] = [(await ok(gw, '/key/generate', {})).key, (await ok(gw, '/key/generate', { tags: ['project:alpha'] })).key];
    const send = (i: number) => {
      const how = i % 3;
      const res = fetch(`${gw.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${how === 2 ? tagged : plain}`, ...(how === 1 ? { 'x-litellm-tags': 'other, project:alpha' } : {}) },
        body: JSON.stringify({ model: 'gpt-4', max_tokens: 15, stream: i % 2 === 0, messages: [{ role: 'user', content: 'hi' }], ...(how === 0 ? { metadata: { tags: ['project:alpha'] } } : {}) }),
      });
      return res.then(async (r) => {
        const text = await r.text();
        return { status: r.status, text, body: text.startsWith('{') ? JSON.parse(text) : null };
      });
    };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => send(i)));
    const answered = results.filter((r) => r.status === 200 && !r.text.includes('"error"'));
    const refused = results.filter((r) => r.status === 429);
    assert.equal(answered.length + refused.length, 100);
    for (const r of refused) assert.match(r.body.error.message, new RegExp(`^Budget has been exceeded! Tag=project:alpha Current cost: [0-9.e-]+, Max budget: ${budget / 1e9} `));
    await new Promise((r) => setTimeout(r, 300));
    const info = (await call(gw.url, 'POST', '/tag/info', { names: ['project:alpha'] })).body['project:alpha'];
    const spent = Math.round(info.spend * 1e9);
    assert.ok(spent <= budget, `spent ${spent} > ${budget}`);
    assert.equal(spent, answered.length * ANSWER, 'spend is exactly what the clients were shown');
    assert.ok(spent >= budget / 2, `only ${spent} of ${budget}`);
    assert.deepEqual(held(gw), { reservations: 0, slots: 0 });
    // With the budget spent to the last nano, a call without the tag is not held by it; the key's tag cannot be left out.
    await ok(gw, '/tag/update', { name: 'project:alpha', max_budget: spent / 1e9 });
    assert.equal((await chat(gw, plain, { max_tokens: 15 })).status, 200);
    assert.equal((await chat(gw, tagged, { max_tokens: 15 })).status, 429);
  });

  test('a call with several tags is held by each; deleting a tag, or raising its budget, lets it through at once; dynamic tags are listed', async () => {
    // (room for one answer of a call whose body, with its three tags, reserves more than two answers)
    const tight = 3 * ANSWER;
    await ok(gw, '/tag/new', { name: 'tight', max_budget: tight / 1e9 });
    await ok(gw, '/tag/new', { name: 'roomy', max_budget: 1 });
    const key = (await ok(gw, '/key/generate', {})).key;
    const both = { max_tokens: 15, metadata: { tags: ['roomy', 'tight', 'just-counted'] } };
    const first = await chat(gw, key, both);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(gw, key, both);
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /Tag=tight /);
    assert.equal((await chat(gw, key, { max_tokens: 15, metadata: { tags: ['roomy'] } })).status, 200, 'roomy has room');
    await ok(gw, '/tag/update', { name: 'tight', max_budget: 1 });
    assert.equal((await chat(gw, key, both)).status, 200, 'raised: at once');
    await ok(gw, '/tag/update', { name: 'tight', max_budget: tight / 1e9 });
    assert.equal((await chat(gw, key, both)).status, 429, 'lowered: at once');
    assert.equal((await ok(gw, '/tag/delete', { name: 'tight' })).message, 'Tag tight deleted successfully');
    assert.equal((await chat(gw, key, both)).status, 200, 'deleted: no budget');
    await new Promise((r) => setTimeout(r, 300));
    const list = (await call(gw.url, 'GET', '/tag/list')).body as any[];
    assert.ok(list.some((t) => t.name === 'roomy' && t.litellm_budget_table.max_budget === 1));
    assert.ok(list.some((t) => t.name === 'just-counted' && t.models === null), 'a tag requests carried, with no row');
    assert.ok(!list.some((t) => t.name === 'tight' && t.litellm_budget_table));
  });

  test('tag errors: an unknown tag is a 404 naming it, a second one of a name a 400, budget fields and budget_id together a 400', async () => {
    const missing = await call(gw.url, 'POST', '/tag/info', { names: ['nope'] });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /Tags not found: \["nope"\]/);
    assert.equal((await call(gw.url, 'POST', '/tag/update', { name: 'nope', max_budget: 1 })).status, 404);
    assert.equal((await call(gw.url, 'POST', '/tag/delete', { name: 'nope' })).status, 404);
    await ok(gw, '/tag/new', { name: 'once' });
    const again = await call(gw.url, 'POST', '/tag/new', { name: 'once' });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.message, 'Tag once already exists');
    const both = await call(gw.url, 'POST', '/tag/new', { name: 'both', max_budget: 1, budget_id: 'x' });
    assert.equal(both.status, 400);
    assert.equal(both.body.error.param, 'budget_id');
  });

  test('litellm_settings.tag_budget_config makes the tags and their budgets at start, and brings them in line at the next', async () => {
    const file = join(tempDir('tag-config'), 'gateway.db');
    const yaml = (usd: number) => `${MODELS(fake.url)}litellm_settings:\n  tag_budget_config:\n    product:chat-bot:\n      max_budget: ${usd}\n      budget_duration: 1d\n`;
    let g = await startInProcess(yaml(ROOM_FOR_ONE / 1e9), { db: openSqlite(file) });
    const tagged = { max_tokens: 15, metadata: { tags: ['product:chat-bot'] } };
    let key: string;
    try {
      key = (await ok(g, '/key/generate', {})).key;
      assert.equal((await chat(g, key, tagged)).status, 200);
      await new Promise((r) => setTimeout(r, 300));
      const refused = await chat(g, key, tagged);
      assert.equal(refused.status, 429);
      assert.match(refused.body.error.message, /^Budget has been exceeded! Tag=product:chat-bot .* It resets at /);
    } finally {
      await g.close();
    }
    g = await startInProcess(yaml(1), { db: openSqlite(file) });
    try {
      const info = (await call(g.url, 'POST', '/tag/info', { names: ['product:chat-bot'] })).body['product:chat-bot'];
      assert.equal(info.litellm_budget_table.max_budget, 1);
      assert.equal(info.litellm_budget_table.budget_duration, '1d');
      assert.equal(Math.round(info.spend * 1e9), ANSWER, 'its spend is kept');
      assert.equal((await chat(g, key, tagged)).status, 200);
    } finally {
      await g.close();
    }
  });
});

describe("a key's per-model budgets (model_max_budget)", () => {
  const WHO = "Model=gpt-4 \\(this key's model_max_budget\\)";
  const usage = async (key: string) => (await call(gw.url, 'GET', `/key/info?key=${key}`)).body.info.model_max_budget_usage;

  for (const stream of [false, true]) {
    test(`100 parallel requests on a key whose budget for gpt-4 fits 10 answers; its other models are free (${stream ? 'streamed' : 'plain'})`, async () => {
      const budget = 10 * ANSWER;
      const made = await ok(gw, '/key/generate', { max_budget: 1, model_max_budget: { 'gpt-4': { budget_limit: budget / 1e9, time_period: '1d' } } });
      assert.deepEqual(made.model_max_budget, { 'gpt-4': { budget_limit: budget / 1e9, time_period: '1d' } });
      const results = await Promise.all(Array.from({ length: 100 }, () => chat(gw, made.key, { max_tokens: 15, stream })));
      await new Promise((r) => setTimeout(r, 300));
      const spent = await assertHeld(gw, results, budget, `api_key=${made.key}`, WHO);
      const u = (await usage(made.key))['gpt-4'];
      assert.equal(Math.round(u.current_spend * 1e9), spent);
      assert.equal(u.budget_limit, budget / 1e9);
      assert.equal(u.time_period, '1d');
      assert.ok(Date.parse(u.budget_reset_at) > Date.now());
      assert.equal((await chat(gw, made.key, { max_tokens: 15, model: 'cheap' })).status, 200, 'another model is not held by it');
      // The key's own budget counted every call.
      const info = (await call(gw.url, 'GET', `/key/info?key=${made.key}`)).body.info;
      assert.equal(Math.round(info.spend * 1e9), spent + ANSWER);
    });
  }

  test('which entry holds a call: the model group, the model asked for, either without its provider prefix', () => {
    const b = { 'gpt-4o': { budget_limit: 1, time_period: '1d' }, 'azure/gpt-4o': { budget_limit: 2, time_period: '1d' }, 'claude-x': { budget_limit: 3, time_period: '1d' } };
    assert.equal(budgetModelOf(b, 'gpt-4o', 'gpt-4o'), 'gpt-4o');
    assert.equal(budgetModelOf(b, 'azure/gpt-4o', 'azure/gpt-4o'), 'azure/gpt-4o', 'the most specific first');
    assert.equal(budgetModelOf(b, 'openai/*', 'openai/gpt-4o'), 'gpt-4o', 'a wildcard group: the name asked for, without its prefix');
    assert.equal(budgetModelOf(b, 'smart', 'smart'), null);
    assert.equal(budgetModelOf(b, 'anthropic/claude-x', 'claude'), 'claude-x');
    assert.equal(budgetModelOf(b, 'toString', 'constructor'), null, 'no inherited names');
  });

  test('a changed limit holds at once; a regenerated key keeps its spend; a new time_period starts from 0; an empty one holds nothing', async () => {
    const key = (await ok(gw, '/key/generate', { model_max_budget: { cheap: { max_budget: ROOM_FOR_ONE / 1e9, budget_duration: '30d' } } })).key;
    assert.equal((await chat(gw, key, { max_tokens: 15, model: 'cheap' })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(gw, key, { max_tokens: 15, model: 'cheap' });
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /^Budget has been exceeded! Model=cheap \(this key's model_max_budget\) Current cost: .* It resets at /);
    await ok(gw, '/key/update', { key, model_max_budget: { cheap: { budget_limit: 1, time_period: '30d' } } });
    assert.equal((await chat(gw, key, { max_tokens: 15, model: 'cheap' })).status, 200, 'raised: at once');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(Math.round((await usage(key)).cheap.current_spend * 1e9), 2 * ANSWER, 'the same period: its spend is kept');
    const fresh = (await ok(gw, '/key/regenerate', { key })).key;
    assert.equal(Math.round((await usage(fresh)).cheap.current_spend * 1e9), 2 * ANSWER, 'kept under the new hash');
    await ok(gw, '/key/update', { key: fresh, model_max_budget: { cheap: { budget_limit: ROOM_FOR_ONE / 1e9, time_period: '30d' } } });
    assert.equal((await chat(gw, fresh, { max_tokens: 15, model: 'cheap' })).status, 429, 'lowered: at once');
    await ok(gw, '/key/update', { key: fresh, model_max_budget: { cheap: { budget_limit: ROOM_FOR_ONE / 1e9, time_period: '7d' } } });
    assert.equal((await usage(fresh)).cheap.current_spend, 0, 'a new time_period starts a new period from 0');
    assert.equal((await chat(gw, fresh, { max_tokens: 15, model: 'cheap' })).status, 200);
    await ok(gw, '/key/update', { key: fresh, model_max_budget: {} });
    assert.deepEqual(await usage(fresh), {});
    for (let i = 0; i < 3; i++) assert.equal((await chat(gw, fresh, { max_tokens: 15, model: 'cheap' })).status, 200, 'no model budget any more');
  });

  test("a model budget's period ends: its spend starts again from 0 and the key's calls get through", async () => {
    const key = (await ok(gw, '/key/generate', { model_max_budget: { 'gpt-4': { budget_limit: ROOM_FOR_ONE / 1e9, time_period: '2s' } } })).key;
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 429);
    const resetAt = Date.parse((await usage(key))['gpt-4'].budget_reset_at);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; ; i++) {
      const u = (await usage(key))['gpt-4'];
      if (Date.parse(u.budget_reset_at) > resetAt) {
        assert.equal(u.current_spend, 0);
        break;
      }
      assert.ok(i < 150, 'the reset job ran within seconds');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await chat(gw, key, { max_tokens: 15 })).status, 200);
  });

  test('model_max_budget errors name the field: a budget without its period or limit, a negative limit; on users and teams it is refused', async () => {
    const bad = async (body: unknown, param: string, message: RegExp) => {
      const r = await call(gw.url, 'POST', '/key/generate', body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.param, param);
      assert.match(r.body.error.message, message);
    };
    await bad({ model_max_budget: { 'gpt-4': { budget_limit: 1 } } }, 'model_max_budget.gpt-4.time_period', /is required/);
    await bad({ model_max_budget: { 'gpt-4': { time_period: '1d' } } }, 'model_max_budget.gpt-4.budget_limit', /is required/);
    await bad({ model_max_budget: { 'gpt-4': { budget_limit: -1, time_period: '1d' } } }, 'model_max_budget.gpt-4.budget_limit', /0 or more/);
    await bad({ model_max_budget: { 'gpt-4': { budget_limit: 1, time_period: 'daily' } } }, 'model_max_budget.gpt-4.time_period', /duration/);
    const team = await call(gw.url, 'POST', '/team/new', { team_id: 'mmb-team', model_max_budget: { 'gpt-4': { budget_limit: 1, time_period: '1d' } } });
    assert.equal(team.status, 400);
    assert.match(team.body.error.message, /held on keys/);
  });
});

describe('the proxy budget (litellm_settings.max_budget)', () => {
  test("100 parallel requests of keys of different teams and users on a proxy budget that fits 10 answers; the master key's spend counts, it is not held", async () => {
    const budget = 10 * ANSWER;
    const g = await startInProcess(`${MODELS(fake.url)}litellm_settings:\n  max_budget: ${budget / 1e9}\n  budget_duration: 30d\n`);
    try {
      await ok(g, '/team/new', { team_id: 'proxy-a' });
      const keys = [(await ok(g, '/key/generate', { team_id: 'proxy-a' })).key, (await ok(g, '/key/generate', {})).key, (await ok(g, '/user/new', { user_id: 'proxy-u' })).key];
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(g, keys[i % 3]!, { max_tokens: 15, stream: i % 2 === 0 })));
      const spent = await assertHeld(g, results, budget, 'status=success', `Proxy=litellm-proxy-budget`);
      // Its row is LiteLLM's: a user of its own with the proxy's spend.
      const row = (await call(g.url, 'GET', '/user/info?user_id=litellm-proxy-budget')).body.user_info;
      assert.equal(Math.round(row.spend * 1e9), spent);
      assert.equal(row.max_budget, budget / 1e9);
      assert.equal(row.budget_duration, '30d');
      assert.equal((await chat(g, MASTER_KEY, { max_tokens: 15 })).status, 200, 'the master key is not held');
      await new Promise((r) => setTimeout(r, 300));
      const after = (await call(g.url, 'GET', '/user/info?user_id=litellm-proxy-budget')).body.user_info;
      assert.equal(Math.round(after.spend * 1e9), spent + ANSWER, "but what it spends counts");
    } finally {
      await g.close();
    }
  });

  test('its period ends: spend starts again from 0; a new max_budget in the config holds from the next start', async () => {
    const file = join(tempDir('proxy-budget'), 'gateway.db');
    const yaml = (usd: number) => `${MODELS(fake.url)}litellm_settings:\n  max_budget: ${usd}\n  budget_duration: 2s\n`;
    let g = await startInProcess(yaml(ROOM_FOR_ONE / 1e9), { db: openSqlite(file) });
    const key = (await ok(g, '/key/generate', {})).key;
    assert.equal((await chat(g, key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(g, key, { max_tokens: 15 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /^Budget has been exceeded! Proxy=litellm-proxy-budget Current cost: .* It resets at /);
    const info = async () => (await call(g.url, 'GET', '/user/info?user_id=litellm-proxy-budget')).body.user_info;
    const resetAt = Date.parse((await info()).budget_reset_at);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await info()).spend, 0);
    assert.equal((await chat(g, key, { max_tokens: 15 })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await chat(g, key, { max_tokens: 15 })).status, 429);
    // Restarted with a larger budget, on the same database: it holds at once, the period goes on.
    await g.close();
    g = await startInProcess(yaml(1), { db: openSqlite(file) });
    try {
      assert.equal((await info()).max_budget, 1);
      assert.equal((await info()).budget_duration, '2s');
      assert.equal((await chat(g, key, { max_tokens: 15 })).status, 200);
    } finally {
      await g.close();
    }
  });
});

test('the master key is held by no budget', async () => {
  assert.equal((await chat(gw, MASTER_KEY, { max_tokens: 15 })).status, 200);
});
