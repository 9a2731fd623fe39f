// The authorization matrix: every management route, called by every kind of caller on an entity of
// their own (their key, their user, their team, their organization) and on another team's and another
// organization's, is allowed or refused (403 in LiteLLM's envelope) exactly as the permission table says.
// The README's table of roles is that same table.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALLERS, PERMISSIONS, permissionRows, type Caller, type Grant } from '../../src/admin/access.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import { call, fakeModels, MASTER_KEY, REPO, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let hook: WebhookReceiver;
let gw: TestGateway;

/** Each kind of caller: its key, its user, and the kinds of the table it acts as. */
interface Who {
  name: string;
  key: string;
  userId: string | null;
  kinds: Caller[];
  /** Its role in the team and organization it belongs to. */
  teamRole: 'admin' | 'user';
  orgRole: 'org_admin' | 'internal_user' | 'internal_user_viewer';
}
const callers: Who[] = [];
const world = { orgIn: 'org-in', orgOut: 'org-out', teamIn: 'team-in', teamOut: 'team-out', outsider: 'outsider' };

const api = (method: string, path: string, body?: unknown, key = MASTER_KEY) => call(gw.url, method, path, body, key);
async function master(method: string, path: string, body?: unknown) {
  const r = await api(method, path, body);
  assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

before(async () => {
  fake = await startFakeOpenAI();
  hook = await startWebhookReceiver();
  // An alerting target, for /health/services to send its test alert to.
  // (a response cache, for the /cache routes to have one to manage)
  gw = await startInProcess(`${fakeModels(fake.url)}general_settings:\n  alerting: ["webhook"]\nlitellm_settings:\n  cache: true\n  cache_params: { type: local }\nenvironment_variables:\n  WEBHOOK_URL: "${hook.url}"\n`);
  await master('POST', '/organization/new', { organization_id: world.orgIn, organization_alias: 'In' });
  await master('POST', '/organization/new', { organization_id: world.orgOut, organization_alias: 'Out' });
  await master('POST', '/team/new', { team_id: world.teamIn, organization_id: world.orgIn });
  await master('POST', '/team/new', { team_id: world.teamOut, organization_id: world.orgOut });
  await master('POST', '/user/new', { user_id: world.outsider, teams: [world.teamOut], organizations: [world.orgOut], auto_create_key: false });
  const people: [string, string, Caller[], Who['teamRole'], Who['orgRole']][] = [
    ['proxy_admin_viewer', 'proxy_admin_viewer', ['proxy_admin_viewer', 'internal_user_viewer'], 'user', 'internal_user'],
    ['org_admin', 'internal_user', ['org_admin', 'internal_user'], 'user', 'org_admin'],
    ['team_admin', 'internal_user', ['team_admin', 'internal_user'], 'admin', 'internal_user'],
    ['internal_user', 'internal_user', ['internal_user'], 'user', 'internal_user'],
    ['internal_user_viewer', 'internal_user_viewer', ['internal_user_viewer'], 'user', 'internal_user_viewer'],
  ];
  for (const [name, role, kinds, teamRole, orgRole] of people) {
    const u = await master('POST', '/user/new', { user_id: name, user_role: role, auto_create_key: false });
    await master('POST', '/team/member_add', { team_id: world.teamIn, member: { role: teamRole, user_id: u.user_id } });
    await master('POST', '/organization/member_add', { organization_id: world.orgIn, member: { role: orgRole, user_id: u.user_id } });
    const key = (await master('POST', '/key/generate', { user_id: name, team_id: world.teamIn })).key;
    callers.push({ name, key, userId: name, kinds, teamRole, orgRole });
  }
  const teamKey = (await master('POST', '/key/generate', { team_id: world.teamIn })).key;
  callers.push({ name: 'key of no user', key: teamKey, userId: null, kinds: ['key'], teamRole: 'user', orgRole: 'internal_user' });
});
after(async () => {
  await gw.close();
  await fake.close();
  await hook.close();
});

type Variant = 'in' | 'out';
type Call = { method: string; path: string; body?: unknown };

const fresh = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const q = (path: string, params: Record<string, string>) => `${path}?${new URLSearchParams(params)}`;

/** A key: the caller's own (in their team and organization), or another user's in another team. */
async function keyFor(who: Who, v: Variant): Promise<string> {
  if (v === 'in' && who.kinds.includes('key')) return who.key;
  const body = v === 'in' ? { user_id: who.userId, team_id: world.teamIn } : { user_id: world.outsider, team_id: world.teamOut };
  return (await master('POST', '/key/generate', body)).key;
}
/** A team: of the caller's organization with the caller in it (in their role), or of another organization. */
async function teamFor(who: Who, v: Variant, models: string[] = []): Promise<string> {
  // A key of no user belongs to its team only.
  if (v === 'in' && who.kinds.includes('key')) return world.teamIn;
  const id = fresh('t');
  await master('POST', '/team/new', { team_id: id, organization_id: v === 'in' ? world.orgIn : world.orgOut, models });
  if (v === 'in' && who.userId) await master('POST', '/team/member_add', { team_id: id, member: { role: who.teamRole, user_id: who.userId } });
  await master('POST', '/team/member_add', { team_id: id, member: { role: 'user', user_id: 'filler' } });
  return id;
}
/** A user of the caller's organization and team, or of the other ones. */
async function userFor(v: Variant): Promise<string> {
  const id = fresh('u');
  const [team, org] = v === 'in' ? [world.teamIn, world.orgIn] : [world.teamOut, world.orgOut];
  await master('POST', '/user/new', { user_id: id, teams: [team], organizations: [org], auto_create_key: false });
  return id;
}
async function memberOf(org: string): Promise<string> {
  const id = fresh('u');
  await master('POST', '/user/new', { user_id: id, auto_create_key: false });
  await master('POST', '/organization/member_add', { organization_id: org, member: { role: 'internal_user', user_id: id } });
  return id;
}
const orgOf = (v: Variant) => (v === 'in' ? world.orgIn : world.orgOut);

let customer = '';
let budget = '';
const tag = 'perm-tag';

/** For each route, the call on an entity of the caller's ('in') or of others ('out'). */
const CALLS: Record<string, (who: Who, v: Variant) => Promise<Call>> = {
  '/key/generate': async (_w, v) => ({ method: 'POST', path: '/key/generate', body: { team_id: v === 'in' ? world.teamIn : world.teamOut } }),
  '/key/update': async (w, v) => ({ method: 'POST', path: '/key/update', body: { key: await keyFor(w, v), metadata: { n: 1 } } }),
  '/key/regenerate': async (w, v) => ({ method: 'POST', path: '/key/regenerate', body: { key: await keyFor(w, v) } }),
  '/key/delete': async (w, v) => ({ method: 'POST', path: '/key/delete', body: { keys: [await keyFor(w, v)] } }),
  '/key/block': async (w, v) => ({ method: 'POST', path: '/key/block', body: { key: await keyFor(w, v) } }),
  '/key/unblock': async (w, v) => ({ method: 'POST', path: '/key/unblock', body: { key: await keyFor(w, v) } }),
  '/key/info': async (w, v) => ({ method: 'GET', path: q('/key/info', { key: await keyFor(w, v) }) }),
  '/key/list': async () => ({ method: 'GET', path: '/key/list' }),
  '/user/new': async (_w, v) => ({ method: 'POST', path: '/user/new', body: { user_id: fresh('new'), organizations: [orgOf(v)] } }),
  '/user/info': async (w, v) => ({ method: 'GET', path: q('/user/info', { user_id: v === 'in' && w.userId ? w.userId : world.outsider }) }),
  '/user/update': async (w, v) => ({ method: 'POST', path: '/user/update', body: { user_id: v === 'in' && w.userId ? w.userId : world.outsider, user_alias: 'x' } }),
  '/user/delete': async (_w, v) => ({ method: 'POST', path: '/user/delete', body: { user_ids: [await userFor(v)] } }),
  '/user/list': async () => ({ method: 'GET', path: '/user/list' }),
  '/team/new': async (_w, v) => ({ method: 'POST', path: '/team/new', body: { team_id: fresh('new'), organization_id: orgOf(v) } }),
  '/team/info': async (w, v) => ({ method: 'GET', path: q('/team/info', { team_id: await teamFor(w, v) }) }),
  '/team/list': async () => ({ method: 'GET', path: '/team/list' }),
  '/team/update': async (w, v) => ({ method: 'POST', path: '/team/update', body: { team_id: await teamFor(w, v), metadata: { n: 1 } } }),
  '/team/delete': async (w, v) => ({ method: 'POST', path: '/team/delete', body: { team_ids: [await teamFor(w, v)] } }),
  '/team/block': async (w, v) => ({ method: 'POST', path: '/team/block', body: { team_id: await teamFor(w, v) } }),
  '/team/unblock': async (w, v) => ({ method: 'POST', path: '/team/unblock', body: { team_id: await teamFor(w, v) } }),
  '/team/member_add': async (w, v) => ({ method: 'POST', path: '/team/member_add', body: { team_id: await teamFor(w, v), member: { role: 'user', user_id: fresh('m') } } }),
  '/team/member_delete': async (w, v) => ({ method: 'POST', path: '/team/member_delete', body: { team_id: await teamFor(w, v), user_id: 'filler' } }),
  '/team/member_update': async (w, v) => ({ method: 'POST', path: '/team/member_update', body: { team_id: await teamFor(w, v), user_id: 'filler', role: 'admin' } }),
  '/team/model/add': async (w, v) => ({ method: 'POST', path: '/team/model/add', body: { team_id: await teamFor(w, v, ['gpt-4']), models: ['gpt-3.5-turbo'] } }),
  '/team/model/delete': async (w, v) => ({ method: 'POST', path: '/team/model/delete', body: { team_id: await teamFor(w, v, ['gpt-4', 'gpt-3.5-turbo']), models: ['gpt-4'] } }),
  '/organization/new': async () => ({ method: 'POST', path: '/organization/new', body: { organization_alias: fresh('org') } }),
  '/organization/info': async (_w, v) => ({ method: 'GET', path: q('/organization/info', { organization_id: orgOf(v) }) }),
  '/organization/list': async () => ({ method: 'GET', path: '/organization/list' }),
  '/organization/update': async (_w, v) => ({ method: 'PATCH', path: '/organization/update', body: { organization_id: orgOf(v), metadata: { n: 1 } } }),
  '/organization/delete': async (w, v) => {
    const id = fresh('org');
    await master('POST', '/organization/new', { organization_id: id, organization_alias: id });
    if (v === 'in' && w.userId) await master('POST', '/organization/member_add', { organization_id: id, member: { role: w.orgRole, user_id: w.userId } });
    return { method: 'DELETE', path: '/organization/delete', body: { organization_ids: [id] } };
  },
  '/organization/member_add': async (_w, v) => ({ method: 'POST', path: '/organization/member_add', body: { organization_id: orgOf(v), member: { role: 'internal_user', user_id: fresh('m') } } }),
  '/organization/member_delete': async (_w, v) => ({ method: 'DELETE', path: '/organization/member_delete', body: { organization_id: orgOf(v), user_id: await memberOf(orgOf(v)) } }),
  '/organization/member_update': async (_w, v) => ({ method: 'PATCH', path: '/organization/member_update', body: { organization_id: orgOf(v), user_id: await memberOf(orgOf(v)), role: 'internal_user_viewer' } }),
  '/customer/new': async () => ({ method: 'POST', path: '/customer/new', body: { user_id: fresh('c') } }),
  '/customer/info': async () => ({ method: 'GET', path: q('/customer/info', { end_user_id: customer }) }),
  '/customer/list': async () => ({ method: 'GET', path: '/customer/list' }),
  '/customer/update': async () => ({ method: 'POST', path: '/customer/update', body: { user_id: customer, alias: 'x' } }),
  '/customer/delete': async () => {
    const id = fresh('c');
    await master('POST', '/customer/new', { user_id: id });
    return { method: 'POST', path: '/customer/delete', body: { user_ids: [id] } };
  },
  '/customer/block': async () => ({ method: 'POST', path: '/customer/block', body: { user_ids: [customer] } }),
  '/customer/unblock': async () => ({ method: 'POST', path: '/customer/unblock', body: { user_ids: [customer] } }),
  '/tag/new': async () => ({ method: 'POST', path: '/tag/new', body: { name: fresh('tag') } }),
  '/tag/info': async () => ({ method: 'POST', path: '/tag/info', body: { names: [tag] } }),
  '/tag/list': async () => ({ method: 'GET', path: '/tag/list' }),
  '/tag/update': async () => ({ method: 'POST', path: '/tag/update', body: { name: tag, description: 'x' } }),
  '/tag/delete': async () => {
    const name = fresh('tag');
    await master('POST', '/tag/new', { name });
    return { method: 'POST', path: '/tag/delete', body: { name } };
  },
  '/budget/new': async () => ({ method: 'POST', path: '/budget/new', body: { max_budget: 1 } }),
  '/budget/info': async () => ({ method: 'POST', path: '/budget/info', body: { budgets: [budget] } }),
  '/budget/list': async () => ({ method: 'GET', path: '/budget/list' }),
  '/budget/settings': async () => ({ method: 'GET', path: q('/budget/settings', { budget_id: budget }) }),
  '/budget/update': async () => ({ method: 'POST', path: '/budget/update', body: { budget_id: budget, max_budget: 2 } }),
  '/budget/delete': async () => ({ method: 'POST', path: '/budget/delete', body: { id: (await master('POST', '/budget/new', {})).budget_id } }),
  '/spend/logs': async () => ({ method: 'GET', path: '/spend/logs' }),
  '/global/spend': async () => ({ method: 'GET', path: '/global/spend' }),
  '/audit': async () => ({ method: 'GET', path: '/audit' }),
  '/health': async () => ({ method: 'GET', path: '/health' }),
  '/health/services': async () => ({ method: 'GET', path: '/health/services?service=webhook' }),
  '/cache/ping': async () => ({ method: 'GET', path: '/cache/ping' }),
  '/cache/delete': async () => ({ method: 'POST', path: '/cache/delete', body: { keys: ['nothing-there'] } }),
  '/cache/flushall': async () => ({ method: 'POST', path: '/cache/flushall' }),
  '/ui/api/keys': async () => ({ method: 'GET', path: '/ui/api/keys' }),
  '/ui/api/models': async () => ({ method: 'GET', path: '/ui/api/models' }),
  '/ui/api/health': async () => ({ method: 'GET', path: '/ui/api/health' }),
  '/ui/api/usage': async () => ({ method: 'GET', path: '/ui/api/usage?start=2026-01-01&end=2026-01-02' }),
};
/** Routes whose calls name no entity: allowed as soon as the caller holds any grant (they then narrow what they show). */
const UNTARGETED = new Set(['/key/list', '/user/list', '/team/list', '/organization/list', '/organization/new', '/customer/new', '/customer/info', '/customer/list', '/customer/update', '/customer/delete', '/customer/block', '/customer/unblock', '/tag/new', '/tag/info', '/tag/list', '/tag/update', '/tag/delete', '/budget/new', '/budget/info', '/budget/list', '/budget/settings', '/budget/update', '/budget/delete', '/spend/logs', '/global/spend', '/audit', '/health', '/health/services', '/cache/ping', '/cache/delete', '/cache/flushall', '/ui/api/keys', '/ui/api/models', '/ui/api/health', '/ui/api/usage']);

function expected(route: string, who: Who, v: Variant): boolean {
  const grants = who.kinds.map((k) => PERMISSIONS[route]!.grants[k]).filter((g): g is Exclude<Grant, '-'> => g !== '-');
  if (grants.length === 0) return false;
  if (UNTARGETED.has(route) || grants.includes('all')) return true;
  // Every other grant covers the caller's own entities (in their team and organization), never the others'.
  return v === 'in';
}

test('every management route, every caller, their own entity and another team\'s or organization\'s: as the table says', async () => {
  customer = (await master('POST', '/customer/new', { user_id: fresh('c') })).user_id;
  budget = (await master('POST', '/budget/new', { max_budget: 1 })).budget_id;
  await master('POST', '/tag/new', { name: tag });
  assert.deepEqual(Object.keys(CALLS).sort(), Object.keys(PERMISSIONS).sort(), 'every route of the table is walked');
  const wrong: string[] = [];
  let checked = 0;
  for (const route of Object.keys(PERMISSIONS)) {
    for (const v of ['in', 'out'] as const) {
      // The master key may do everything.
      const asMaster = await CALLS[route]!({ name: 'master', key: MASTER_KEY, userId: null, kinds: [], teamRole: 'user', orgRole: 'internal_user' }, v);
      const m = await api(asMaster.method, asMaster.path, asMaster.body);
      if (m.status !== 200) wrong.push(`master ${v} ${route}: ${m.status} ${JSON.stringify(m.body)}`);
      for (const who of callers) {
        const call = await CALLS[route]!(who, v);
        const r = await api(call.method, call.path, call.body, who.key);
        const allowed = expected(route, who, v);
        checked++;
        if (allowed && r.status !== 200) wrong.push(`${who.name} ${v} ${route}: expected 200, got ${r.status} ${JSON.stringify(r.body)}`);
        if (!allowed && (r.status !== 403 || r.body.error?.type !== 'auth_error' || !/Not allowed/.test(r.body.error?.message))) {
          wrong.push(`${who.name} ${v} ${route}: expected a 403, got ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(checked >= Object.keys(PERMISSIONS).length * 2 * CALLERS.length);
});

test('the README documents the permission table, row for row', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.split('### Roles and permissions')[1]!.split('\n## ')[0]!;
  const rows = section.split('\n').filter((l) => l.startsWith('| `/'));
  assert.deepEqual(rows, permissionRows());
});
