// Every route the gateway serves, walked with credentials that must not work: none, a wrong one, a
// blocked, an expired and a deleted key, and a key's stored hash presented as the key. Each is
// refused (401; a blocked key 401 or 403; an expired key LiteLLM's 400 expired_key) in the route's
// envelope, except on the few routes open to
// anyone, which are named here: a new route is closed unless this list says otherwise. A plain
// virtual key is refused every management route the permission table keeps from it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PERMISSIONS } from '../../src/admin/access.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, MASTER_KEY, okCall, servedRoutes, startInProcess, type TestGateway } from '../helpers/gateway.ts';

/** Open to anyone: probes, the dashboard's page and its sign-in, and Prometheus' scrape. */
const OPEN = new Set(['/health/liveliness', '/health/liveness', '/health/readiness', '/ui', '/ui*', '/ui/api/login', '/ui/api/logout', '/metrics']);

let fake: FakeUpstream;
let gw: TestGateway;
const keys: Record<string, string> = {};

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(fakeModels(fake.url));
  const make = async (body: object = {}) => okCall(gw.url, 'POST', '/key/generate', body);
  keys.blocked = (await make()).key;
  await okCall(gw.url, 'POST', '/key/block', { key: keys.blocked });
  keys.expired = (await make({ duration: '1s' })).key;
  keys.deleted = (await make()).key;
  await okCall(gw.url, 'POST', '/key/delete', { keys: [keys.deleted] });
  const hashed = await make();
  keys.hash = hashed.token;
  assert.match(keys.hash!, /^[0-9a-f]{64}$/, 'the stored hash');
  keys.wrong = 'sk-this-key-was-never-made';
  keys.virtual = (await make()).key;
  await new Promise((r) => setTimeout(r, 1100)); // the expired key's second passes
});
after(async () => {
  await gw.close();
  await fake.close();
});

async function hit(method: string, path: string, key: string | null) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, input: 'hi', key: keys.virtual }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

test('no key, a wrong, blocked, expired or deleted key, or a stored hash: refused on every route but the open ones', async () => {
  const routes = servedRoutes(gw.app);
  assert.ok(routes.length > 80);
  const opened = new Set<string>();
  for (const { method, path } of routes) {
    const url = path.replace(/:[a-z_]+|\*/g, 'x');
    for (const [name, key] of [['none', null], ['wrong', keys.wrong], ['blocked', keys.blocked], ['expired', keys.expired], ['deleted', keys.deleted], ['hash', keys.hash]] as const) {
      if (OPEN.has(path)) {
        opened.add(path);
        continue;
      }
      const got = await hit(method, url, key ?? null);
      const what = `${method} ${path} with ${name}: ${got.status} ${JSON.stringify(got.body).slice(0, 200)}`;
      if (name === 'blocked') assert.ok(got.status === 401 || got.status === 403, what);
      // LiteLLM answers an expired key with a 400 of type expired_key (the dashboard's routes, which
      // take a session, with a 401).
      else if (name === 'expired') assert.ok((got.status === 400 && /expired/.test(got.body.error.message)) || got.status === 401, what);
      else assert.equal(got.status, 401, what);
      const error = got.body?.error;
      assert.ok(typeof error?.message === 'string' && error.message.length > 0, what);
      if (path.startsWith('/v1/messages')) assert.equal(got.body.type, 'error', what);
    }
  }
  // Every open route exists: the list is no wider than what is served.
  for (const path of OPEN) assert.ok(opened.has(path), `${path} is served`);
});

test('a plain virtual key is refused every management route the permission table keeps from keys', async () => {
  const routes = servedRoutes(gw.app);
  let refused = 0;
  for (const [path, rule] of Object.entries(PERMISSIONS)) {
    if (rule.grants.key !== '-') continue;
    for (const { method } of routes.filter((r) => r.path === path)) {
      const got = await hit(method, path, keys.virtual!);
      assert.equal(got.status, 403, `${method} ${path}: ${got.status} ${JSON.stringify(got.body).slice(0, 200)}`);
      refused++;
    }
  }
  assert.ok(refused > 20, `routes walked: ${refused}`);
  // The key itself still works where it may.
  const ok = await hit('POST', '/chat/completions', keys.virtual!);
  assert.equal(ok.status, 200);
});
