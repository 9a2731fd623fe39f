// LiteLLM's /user, /team, /organization, /customer (/end_user), /budget and /audit endpoints, called
// with the bodies LiteLLM's docs show: the shapes they answer, the errors that name the field, what
// deleting takes with it, and that the audit log keeps every successful change and nothing else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { call, fakeModels, MASTER_KEY, okCall, startInProcess, type TestGateway } from '../helpers/gateway.ts';

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

const api = (method: string, path: string, body?: unknown, key = MASTER_KEY) => call(gw.url, method, path, body, key);
const ok = (method: string, path: string, body?: unknown, key = MASTER_KEY) => okCall(gw.url, method, path, body, key);
/** A refusal in LiteLLM's envelope, naming the field. */
async function refused(method: string, path: string, body: unknown, status: number, param?: string, key = MASTER_KEY) {
  const r = await api(method, path, body, key);
  assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
  assert.equal(typeof r.body.error?.message, 'string');
  assert.equal(r.body.error.code, String(status));
  if (param) assert.equal(r.body.error.param, param, r.body.error.message);
  return r.body.error;
}
/** A call's answer once it succeeds (within two seconds): a customer's row is written with its first ledger batch. */
async function eventually(call: () => Promise<{ status: number; body: any }>) {
  const until = Date.now() + 2000;
  for (;;) {
    const r = await call();
    if (r.status === 200 || Date.now() > until) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}
const chat = (key: string, extra: Record<string, unknown> = {}) =>
  api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], ...extra }, key);

describe('/user', () => {
  test('/user/new makes the user and a key for it, and answers with both', async () => {
    const u = await ok('POST', '/user/new', {
      user_id: 'krrish',
      user_email: 'krrish@berri.ai',
      user_alias: 'Krrish',
      user_role: 'internal_user',
      models: ['gpt-4'],
      max_budget: 12.5,
      budget_duration: '30d',
      tpm_limit: 1000,
      rpm_limit: 10,
      metadata: { department: 'research' },
      key_alias: 'krrish-key',
    });
    assert.match(u.key, /^sk-/);
    assert.equal(u.user_id, 'krrish');
    assert.equal(u.user_email, 'krrish@berri.ai');
    assert.equal(u.user_role, 'internal_user');
    assert.deepEqual(u.models, ['gpt-4']);
    assert.equal(u.max_budget, 12.5);
    assert.equal(u.budget_duration, '30d');
    assert.ok(Date.parse(u.budget_reset_at) > Date.now());
    assert.deepEqual(u.metadata, { department: 'research' });
    assert.equal(u.key_alias, 'krrish-key');
    assert.equal(u.spend, 0);
    assert.equal('password_hash' in u, false);

    // The key works and is the user's: its spend shows on the user at once.
    assert.equal((await chat(u.key)).status, 200);
    const info = await ok('GET', '/user/info?user_id=krrish');
    assert.equal(info.user_id, 'krrish');
    assert.equal(info.user_info.user_email, 'krrish@berri.ai');
    assert.equal(info.keys.length, 1);
    assert.equal(info.keys[0].key_alias, 'krrish-key');
    assert.equal(info.keys[0].user_id, 'krrish');
    assert.ok(info.user_info.spend > 0, 'live spend on the user');
    assert.equal(info.keys[0].spend, info.user_info.spend);

    // A user's own key asks about its own user without naming it.
    const self = await ok('GET', '/user/info', undefined, u.key);
    assert.equal(self.user_id, 'krrish');
  });

  test('auto_create_key: false makes no key; teams are joined with a role and a budget', async () => {
    await ok('POST', '/team/new', { team_id: 'research', team_alias: 'Research' });
    const u = await ok('POST', '/user/new', {
      user_id: 'ishaan',
      auto_create_key: false,
      teams: ['research'],
    });
    assert.equal(u.key, '');
    assert.deepEqual(u.teams, ['research']);
    const info = await ok('GET', '/user/info?user_id=ishaan');
    assert.equal(info.keys.length, 0);
    assert.deepEqual(info.teams.map((t: any) => t.team_id), ['research']);
    const team = await ok('GET', '/team/info?team_id=research');
    assert.deepEqual(team.team_info.members_with_roles, [{ role: 'user', user_id: 'ishaan', user_email: null }]);
  });

  test('bad and duplicate input is refused, naming the field', async () => {
    await refused('POST', '/user/new', { user_id: 'krrish' }, 409, 'user_id');
    await refused('POST', '/user/new', { user_email: 'KRRISH@berri.ai' }, 409, 'user_email');
    await refused('POST', '/user/new', { user_role: 'emperor' }, 400, 'user_role');
    await refused('POST', '/user/new', { max_budget: -1 }, 400, 'max_budget');
    await refused('POST', '/user/new', { budget_duration: 'fortnight' }, 400, 'budget_duration');
    await refused('POST', '/user/new', { teams: ['no-such-team'] }, 400, 'teams[0]');
    await refused('POST', '/user/new', { password: 'short' }, 400, 'password');
    await refused('POST', '/user/update', { user_alias: 'x' }, 400, 'user_id');
    await refused('POST', '/user/update', { user_id: 'ghost', user_alias: 'x' }, 404, 'user_id');
    await refused('GET', '/user/info?user_id=ghost', undefined, 404, 'user_id');
    await refused('POST', '/user/delete', {}, 400, 'user_ids');
    await refused('POST', '/user/delete', { user_ids: ['ghost'] }, 404, 'user_ids');
  });

  test('/user/update changes what it names and keeps the rest; unknown fields are kept as metadata of the row', async () => {
    const r = await ok('POST', '/user/update', { user_id: 'krrish', user_alias: 'K', max_budget: null, rpm_limit: 20, sso_user_id: 'okta-1' });
    assert.equal(r.user_id, 'krrish');
    assert.equal(r.data.user_alias, 'K');
    assert.equal(r.data.max_budget, null);
    assert.equal(r.data.rpm_limit, 20);
    assert.equal(r.data.tpm_limit, 1000);
    assert.equal(r.data.sso_user_id, 'okta-1');
    // By email too.
    const byEmail = await ok('POST', '/user/update', { user_email: 'krrish@berri.ai', user_alias: 'Krrish D' });
    assert.equal(byEmail.user_id, 'krrish');
    // A password is stored hashed; the answer says only that there is one.
    const p = await ok('POST', '/user/update', { user_id: 'krrish', password: 'correct horse battery' });
    assert.equal(p.data.has_password, true);
    assert.equal(JSON.stringify(p).includes('correct horse'), false);
  });

  test('/user/list pages, sorts and filters', async () => {
    for (const i of [1, 2, 3]) await ok('POST', '/user/new', { user_id: `list-${i}`, user_email: `list-${i}@example.com`, user_role: i === 3 ? 'internal_user_viewer' : 'internal_user', auto_create_key: i !== 2 });
    const page = await ok('GET', '/user/list?user_ids=list-1,list-2,list-3&page_size=2&sort_by=user_id&sort_order=desc');
    assert.equal(page.total, 3);
    assert.equal(page.total_pages, 2);
    assert.deepEqual(page.users.map((u: any) => u.user_id), ['list-3', 'list-2']);
    assert.deepEqual(page.users.map((u: any) => u.key_count), [1, 0]);
    const viewers = await ok('GET', '/user/list?role=internal_user_viewer');
    assert.deepEqual(viewers.users.map((u: any) => u.user_id), ['list-3']);
    const byEmail = await ok('GET', '/user/list?user_email=list-2@');
    assert.deepEqual(byEmail.users.map((u: any) => u.user_id), ['list-2']);
    const team = await ok('GET', '/user/list?team=research');
    assert.deepEqual(team.users.map((u: any) => u.user_id), ['ishaan']);
    await refused('GET', '/user/list?sort_by=password', undefined, 400, 'sort_by');
  });

  test("/user/delete takes the user's keys and memberships with it", async () => {
    const u = await ok('POST', '/user/new', { user_id: 'leaver', teams: ['research'] });
    assert.equal((await chat(u.key)).status, 200);
    const r = await ok('POST', '/user/delete', { user_ids: ['leaver'] });
    assert.deepEqual(r, { deleted_users: ['leaver'], deleted_keys: 1 });
    assert.equal((await chat(u.key)).status, 401);
    const team = await ok('GET', '/team/info?team_id=research');
    assert.equal(team.team_info.members.includes('leaver'), false);
    await refused('GET', '/user/info?user_id=leaver', undefined, 404);
  });
});

describe('/team', () => {
  test('/team/new with members; the team answers with its members and their roles', async () => {
    const t = await ok('POST', '/team/new', {
      team_id: 'platform',
      team_alias: 'Platform',
      models: ['gpt-4'],
      max_budget: 100,
      budget_duration: '1mo',
      tpm_limit: 10_000,
      rpm_limit: 100,
      metadata: { cost_center: 'cc-7' },
      members_with_roles: [
        { role: 'admin', user_id: 'lead' },
        { role: 'user', user_email: 'dev@example.com' },
      ],
    });
    assert.equal(t.team_id, 'platform');
    assert.equal(t.team_alias, 'Platform');
    assert.deepEqual(t.models, ['gpt-4']);
    assert.equal(t.max_budget, 100);
    assert.equal(t.budget_duration, '1mo');
    assert.deepEqual(t.metadata, { cost_center: 'cc-7' });
    assert.deepEqual(t.admins, ['lead']);
    assert.equal(t.members_with_roles.length, 2);
    const dev = t.members_with_roles.find((m: any) => m.user_email === 'dev@example.com');
    assert.equal(dev.role, 'user');
    // Members named by email only become users.
    const devUser = await ok('GET', `/user/info?user_id=${dev.user_id}`);
    assert.equal(devUser.user_info.user_email, 'dev@example.com');
    assert.equal(t.blocked, false);
    assert.equal(t.spend, 0);
  });

  test('members: add (one or many), refuse a duplicate, update role and budget, delete', async () => {
    const add = await ok('POST', '/team/member_add', { team_id: 'platform', member: [{ role: 'user', user_id: 'm1' }, { role: 'user', user_id: 'm2' }], max_budget_in_team: 5 });
    assert.deepEqual(add.updated_users.map((u: any) => u.user_id), ['m1', 'm2']);
    assert.equal(add.updated_team_memberships[0].litellm_budget_table.max_budget, 5);
    const dup = await refused('POST', '/team/member_add', { team_id: 'platform', member: { role: 'user', user_id: 'm1' } }, 400, 'member');
    assert.equal(dup.type, 'team_member_already_in_team');
    await refused('POST', '/team/member_add', { team_id: 'platform', member: { role: 'owner', user_id: 'm3' } }, 400, 'member.role');
    await refused('POST', '/team/member_add', { team_id: 'nope', member: { role: 'user', user_id: 'm3' } }, 404, 'team_id');

    const up = await ok('POST', '/team/member_update', { team_id: 'platform', user_id: 'm1', role: 'admin', max_budget_in_team: 7.25, rpm_limit: 3 });
    assert.deepEqual(up, { team_id: 'platform', user_id: 'm1', user_email: null, role: 'admin', max_budget_in_team: 7.25, tpm_limit: null, rpm_limit: 3 });
    const info = await ok('GET', '/team/info?team_id=platform');
    const m1 = info.team_memberships.find((m: any) => m.user_id === 'm1');
    assert.equal(m1.role, 'admin');
    assert.equal(m1.litellm_budget_table.max_budget, 7.25);
    // Each member has a budget of their own: changing m1's left m2's alone.
    const m2 = info.team_memberships.find((m: any) => m.user_id === 'm2');
    assert.equal(m2.litellm_budget_table.max_budget, 5);
    assert.notEqual(m1.budget_id, m2.budget_id);

    const del = await ok('POST', '/team/member_delete', { team_id: 'platform', user_id: 'm2' });
    assert.equal(del.members.includes('m2'), false);
    await refused('POST', '/team/member_delete', { team_id: 'platform', user_id: 'm2' }, 400, 'user_id');
    await refused('POST', '/team/member_update', { team_id: 'platform' }, 400, 'user_id');
  });

  test("model add and delete; the team's models bound its keys", async () => {
    const k = await ok('POST', '/key/generate', { team_id: 'platform' });
    assert.equal((await chat(k.key)).status, 200);
    const other = await api('POST', '/chat/completions', { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] }, k.key);
    assert.equal(other.status, 403);
    assert.equal(other.body.error.type, 'team_model_access_denied');
    const added = await ok('POST', '/team/model/add', { team_id: 'platform', models: ['gpt-3.5-turbo'] });
    assert.deepEqual(added.models, ['gpt-4', 'gpt-3.5-turbo']);
    const now = await api('POST', '/chat/completions', { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] }, k.key);
    assert.equal(now.status, 200);
    const removed = await ok('POST', '/team/model/delete', { team_id: 'platform', models: ['gpt-3.5-turbo'] });
    assert.deepEqual(removed.models, ['gpt-4']);
    await refused('POST', '/team/model/delete', { team_id: 'platform', models: ['gpt-4'] }, 400, 'models');
    await refused('POST', '/team/model/add', { team_id: 'platform', models: [] }, 400, 'models');
  });

  test("block stops the team's keys at once; unblock lets them through again", async () => {
    const k = await ok('POST', '/key/generate', { team_id: 'platform' });
    const blocked = await ok('POST', '/team/block', { team_id: 'platform' });
    assert.equal(blocked.blocked, true);
    const r = await chat(k.key);
    assert.equal(r.status, 401);
    assert.match(r.body.error.message, /blocked/i);
    assert.equal((await ok('POST', '/team/unblock', { team_id: 'platform' })).blocked, false);
    assert.equal((await chat(k.key)).status, 200);
  });

  test('update, list (v1 and v2), info with keys and live spend', async () => {
    const up = await ok('POST', '/team/update', { team_id: 'platform', team_alias: 'Platform Eng', max_budget: 200 });
    assert.equal(up.team_id, 'platform');
    assert.equal(up.data.team_alias, 'Platform Eng');
    assert.equal(up.data.max_budget, 200);
    assert.deepEqual(up.data.models, ['gpt-4']);
    const info = await ok('GET', '/team/info?team_id=platform');
    assert.ok(info.team_info.spend > 0);
    assert.ok(info.keys.length >= 2);
    assert.ok(info.keys.every((k: any) => k.team_id === 'platform'));
    const v1 = await ok('GET', '/team/list');
    assert.ok(Array.isArray(v1));
    assert.ok(v1.some((t: any) => t.team_id === 'platform' && Array.isArray(t.team_memberships)));
    const v2 = await ok('GET', '/v2/team/list?page_size=1&sort_by=team_id&sort_order=asc');
    assert.equal(v2.teams.length, 1);
    assert.ok(v2.total >= 2);
    assert.equal(v2.total_pages, v2.total);
    const mine = await ok('GET', '/v2/team/list?team_id=platform');
    assert.equal(mine.teams[0].members_count, 3);
    assert.ok(mine.teams[0].keys_count >= 2);
    await refused('POST', '/team/new', { team_id: 'platform' }, 400, 'team_id');
    await refused('POST', '/team/new', { tpm_limit: -5 }, 400, 'tpm_limit');
    await refused('POST', '/team/update', { team_alias: 'x' }, 400, 'team_id');
    await refused('POST', '/team/update', { team_id: 'nope' }, 404, 'team_id');
    await refused('GET', '/team/info', undefined, 400, 'team_id');
  });

  test('/team/delete takes its keys and memberships; the keys stop at once', async () => {
    await ok('POST', '/team/new', { team_id: 'doomed', members_with_roles: [{ role: 'user', user_id: 'm1' }] });
    const k = await ok('POST', '/key/generate', { team_id: 'doomed' });
    assert.equal((await chat(k.key)).status, 200);
    const r = await ok('POST', '/team/delete', { team_ids: ['doomed'] });
    assert.deepEqual(r, { deleted_teams: ['doomed'], deleted_keys: 1 });
    assert.equal((await chat(k.key)).status, 401);
    const m1 = await ok('GET', '/user/info?user_id=m1');
    assert.equal(m1.user_info.teams.includes('doomed'), false);
    // The user stays.
    assert.equal(m1.user_id, 'm1');
    await refused('POST', '/team/delete', { team_ids: ['doomed'] }, 404, 'team_id');
  });
});

describe('/organization', () => {
  test('new, info, update (PATCH), list; its models bound its teams', async () => {
    const o = await ok('POST', '/organization/new', { organization_id: 'acme', organization_alias: 'Acme', models: ['gpt-4'], max_budget: 1000, budget_duration: '1mo', metadata: { tier: 'gold' } });
    assert.equal(o.organization_id, 'acme');
    assert.equal(o.organization_alias, 'Acme');
    assert.deepEqual(o.models, ['gpt-4']);
    assert.equal(o.litellm_budget_table.max_budget, 1000);
    assert.equal(o.litellm_budget_table.budget_duration, '1mo');
    assert.equal(o.spend, 0);

    await refused('POST', '/team/new', { team_id: 'acme-wide', organization_id: 'acme', models: ['gpt-3.5-turbo'] }, 400, 'models');
    await refused('POST', '/team/new', { organization_id: 'no-org' }, 400, 'organization_id');
    await ok('POST', '/team/new', { team_id: 'acme-ml', organization_id: 'acme', models: ['gpt-4'] });

    const info = await ok('GET', '/organization/info?organization_id=acme');
    assert.deepEqual(info.teams.map((t: any) => t.team_id), ['acme-ml']);
    assert.deepEqual(info.members, []);

    const up = await ok('PATCH', '/organization/update', { organization_id: 'acme', max_budget: 2000, metadata: { region: 'eu' } });
    assert.equal(up.litellm_budget_table.max_budget, 2000);
    assert.equal(up.litellm_budget_table.budget_duration, '1mo');
    assert.deepEqual(up.metadata, { tier: 'gold', region: 'eu' });

    const list = await ok('GET', '/organization/list');
    assert.ok(list.some((x: any) => x.organization_id === 'acme'));
    await refused('POST', '/organization/new', { organization_id: 'acme', organization_alias: 'Acme again' }, 400, 'organization_id');
    await refused('POST', '/organization/new', { organization_id: 'no-alias' }, 400, 'organization_alias');
    await refused('GET', '/organization/info?organization_id=nope', undefined, 404, 'organization_id');
  });

  test("members: add, update role, delete; an org admin's rights follow the role", async () => {
    const add = await ok('POST', '/organization/member_add', { organization_id: 'acme', member: [{ role: 'org_admin', user_id: 'acme-admin' }, { role: 'internal_user', user_email: 'worker@acme.test' }] });
    assert.equal(add.organization_id, 'acme');
    assert.equal(add.updated_organization_memberships.length, 2);
    await refused('POST', '/organization/member_add', { organization_id: 'acme', member: { role: 'proxy_admin', user_id: 'x' } }, 400, 'member.role');

    const admin = await ok('POST', '/key/generate', { user_id: 'acme-admin' });
    // The org admin manages the organization's teams, not others'.
    assert.equal((await api('GET', '/team/info?team_id=acme-ml', undefined, admin.key)).status, 200);
    assert.equal((await api('GET', '/team/info?team_id=platform', undefined, admin.key)).status, 403);

    const up = await ok('PATCH', '/organization/member_update', { organization_id: 'acme', user_id: 'acme-admin', role: 'internal_user' });
    assert.equal(up.user_role, 'internal_user');
    assert.equal((await api('POST', '/team/update', { team_id: 'acme-ml', team_alias: 'ML' }, admin.key)).status, 403);

    await ok('POST', '/organization/member_delete', { organization_id: 'acme', user_id: 'acme-admin' });
    const info = await ok('GET', '/organization/info?organization_id=acme');
    assert.deepEqual(info.members.map((m: any) => m.user_id).includes('acme-admin'), false);
  });

  test("delete takes the organization's teams and their keys", async () => {
    await ok('POST', '/organization/new', { organization_id: 'gone-co', organization_alias: 'Gone' });
    await ok('POST', '/team/new', { team_id: 'gone-team', organization_id: 'gone-co' });
    const k = await ok('POST', '/key/generate', { team_id: 'gone-team' });
    assert.equal((await chat(k.key)).status, 200);
    const [deleted] = await ok('DELETE', '/organization/delete', { organization_ids: ['gone-co'] });
    assert.equal(deleted.organization_id, 'gone-co');
    assert.equal((await chat(k.key)).status, 401);
    await refused('GET', '/team/info?team_id=gone-team', undefined, 404);
  });
});

describe('/customer and /end_user', () => {
  test('new, info, update, list; the aliases are the same routes', async () => {
    const c = await ok('POST', '/customer/new', { user_id: 'cust-1', alias: 'Customer One', max_budget: 3, allowed_model_region: 'eu', default_model: 'gpt-4' });
    assert.equal(c.user_id, 'cust-1');
    assert.equal(c.alias, 'Customer One');
    assert.equal(c.blocked, false);
    assert.equal(c.allowed_model_region, 'eu');
    assert.equal(c.litellm_budget_table.max_budget, 3);
    assert.equal(c.spend, 0);
    const viaAlias = await ok('GET', '/end_user/info?end_user_id=cust-1');
    assert.deepEqual(viaAlias, c);
    const up = await ok('POST', '/end_user/update', { user_id: 'cust-1', alias: 'C1' });
    assert.equal(up.alias, 'C1');
    assert.equal(up.litellm_budget_table.max_budget, 3);
    const list = await ok('GET', '/customer/list');
    assert.ok(list.some((x: any) => x.user_id === 'cust-1'));
    await refused('POST', '/customer/new', { user_id: 'cust-1' }, 400, 'user_id');
    await refused('POST', '/customer/new', { alias: 'no id' }, 400, 'user_id');
    await refused('POST', '/customer/new', { user_id: 'c2', max_budget: 1, budget_id: 'b' }, 400, 'budget_id');
    await refused('POST', '/customer/new', { user_id: 'c2', default_model: 'no-such-model' }, 400, 'default_model');
    await refused('POST', '/customer/new', { user_id: 'c2', allowed_model_region: 'mars' }, 400, 'allowed_model_region');
    await refused('GET', '/customer/info?end_user_id=nobody', undefined, 404, 'end_user_id');
  });

  test('customers named by requests are tracked with their spend; a blocked one is refused', async () => {
    const k = await ok('POST', '/key/generate', {});
    assert.equal((await chat(k.key, { user: 'shopper-7' })).status, 200);
    // Written with the request's ledger entry (within a flush interval); its spend is live from then on.
    const seen = await eventually(() => api('GET', '/customer/info?end_user_id=shopper-7'));
    assert.equal(seen.user_id, 'shopper-7');
    assert.ok(seen.spend > 0, 'live spend of a customer first seen in a request');
    // litellm_metadata.user names the customer too, and the spend adds up.
    assert.equal((await chat(k.key, { litellm_metadata: { user: 'shopper-7' } })).status, 200);
    const again = await ok('GET', '/customer/info?end_user_id=shopper-7');
    assert.ok(again.spend > seen.spend);

    const b = await ok('POST', '/customer/block', { user_ids: ['shopper-7', 'never-seen'] });
    assert.deepEqual(b.blocked_users.map((c: any) => [c.user_id, c.blocked]), [['shopper-7', true], ['never-seen', true]]);
    for (const who of ['shopper-7', 'never-seen']) {
      const r = await chat(k.key, { user: who });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.message, `User blocked from making LLM API Calls. User=${who}`);
    }
    // The header names the customer as well.
    const viaHeader = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json', 'x-litellm-customer-id': 'shopper-7' },
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(viaHeader.status, 400);
    await viaHeader.body?.cancel();
    const u = await ok('POST', '/end_user/unblock', { user_ids: ['shopper-7'] });
    assert.equal(u.unblocked_users[0].blocked, false);
    assert.equal((await chat(k.key, { user: 'shopper-7' })).status, 200);
  });

  test('delete', async () => {
    const r = await ok('POST', '/customer/delete', { user_ids: ['never-seen'] });
    assert.equal(r.deleted_customers, 1);
    await refused('POST', '/customer/delete', { user_ids: ['never-seen'] }, 404, 'user_ids');
    await refused('GET', '/customer/info?end_user_id=never-seen', undefined, 404);
  });
});

describe('/budget', () => {
  test('new, info, update, list with what uses it; attach to customers; delete only when unused', async () => {
    const b = await ok('POST', '/budget/new', { budget_id: 'free-tier', max_budget: 0.5, rpm_limit: 5, budget_duration: '1d' });
    assert.equal(b.budget_id, 'free-tier');
    assert.equal(b.max_budget, 0.5);
    assert.equal(b.rpm_limit, 5);
    assert.equal(b.budget_duration, '1d');
    assert.ok(Date.parse(b.budget_reset_at) > Date.now());
    await refused('POST', '/budget/new', { budget_id: 'free-tier' }, 400, 'budget_id');
    await refused('POST', '/budget/new', { max_budget: 'lots' }, 400, 'max_budget');

    await ok('POST', '/customer/new', { user_id: 'free-1', budget_id: 'free-tier' });
    await ok('POST', '/customer/new', { user_id: 'free-2', budget_id: 'free-tier' });
    await refused('POST', '/customer/new', { user_id: 'free-3', budget_id: 'no-such-budget' }, 400, 'budget_id');

    const up = await ok('POST', '/budget/update', { budget_id: 'free-tier', max_budget: 1 });
    assert.equal(up.max_budget, 1);
    assert.equal(up.rpm_limit, 5);
    // Shared: both customers see the change.
    assert.equal((await ok('GET', '/customer/info?end_user_id=free-2')).litellm_budget_table.max_budget, 1);
    const [info] = await ok('POST', '/budget/info', { budgets: ['free-tier'] });
    assert.equal(info.max_budget, 1);
    const list = await ok('GET', '/budget/list');
    const listed = list.find((x: any) => x.budget_id === 'free-tier');
    assert.deepEqual(listed.linked_entities.map((l: any) => l.entity_id).sort(), ['free-1', 'free-2']);
    const settings = await ok('GET', '/budget/settings?budget_id=free-tier');
    assert.equal(settings.find((s: any) => s.field_name === 'max_budget').field_value, 1);

    await refused('POST', '/budget/delete', { id: 'free-tier' }, 400, 'id');
    await ok('POST', '/customer/delete', { user_ids: ['free-1', 'free-2'] });
    assert.equal((await ok('POST', '/budget/delete', { id: 'free-tier' })).budget_id, 'free-tier');
    await refused('POST', '/budget/delete', { id: 'free-tier' }, 404, 'id');
    await refused('POST', '/budget/update', { budget_id: 'free-tier', max_budget: 2 }, 404, 'budget_id');
  });
});

describe('/audit', () => {
  test('every successful change is logged with who made it and the before and after; refused ones are not', async () => {
    const before = (await ok('GET', '/audit?page_size=1')).total;
    await refused('POST', '/team/new', { team_id: 'platform' }, 400);
    await refused('POST', '/user/update', { user_id: 'ghost', user_alias: 'x' }, 404);
    assert.equal((await ok('GET', '/audit?page_size=1')).total, before, 'refused writes leave no entry');

    await ok('POST', '/team/update', { team_id: 'research', team_alias: 'Research & Dev' });
    const after = await ok('GET', '/audit?page_size=5');
    assert.equal(after.total, before + 1);
    const [entry] = after.audit_logs;
    assert.equal(entry.action, 'updated');
    assert.equal(entry.table_name, 'LiteLLM_TeamTable');
    assert.equal(entry.object_id, 'research');
    assert.equal(typeof entry.changed_by, 'string');
    assert.equal(entry.before_value.team_alias, 'Research');
    assert.equal(entry.updated_values.team_alias, 'Research & Dev');
    const one = await ok('GET', `/audit/${entry.id}`);
    assert.deepEqual(one, entry);
    await refused('GET', '/audit/no-such-entry', undefined, 404);
    // Password hashes never reach the log.
    const users = await ok('GET', '/audit?page_size=100');
    assert.equal(JSON.stringify(users).includes('password_hash'), false);
    assert.equal(JSON.stringify(users).includes('scrypt'), false);
  });

  test('non-admins may not read the audit log', async () => {
    const k = await ok('POST', '/key/generate', { user_id: 'krrish' });
    await refused('GET', '/audit', undefined, 403, undefined, k.key);
  });
});
